/**
 * Runs every bench/*.ts (except this file) one after another, each in its own process, printing each one's
 * output as it goes. Run: npx tsx bench/run.ts (or npm run bench). Exits non-zero if any benchmark failed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../common/paths.js';

const dir = path.join(ROOT, 'bench');
const benches = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts')).sort();
const failed: string[] = [];
for (const file of benches) {
  console.log(`\n=== bench/${file} ===`);
  const r = spawnSync('npx', ['tsx', path.join(dir, file)], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) failed.push(file);
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
