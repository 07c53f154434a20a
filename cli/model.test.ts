import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';

const run = promisify(execFile);
const GOLDEN_DIR = sharedPath('goldens', 'distilbert-tiny');
let tmp: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'model-cli-'));
});
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

/** `margin-mse model parity` through the real CLI; resolves with the exit code and output. */
async function parity(reference: string): Promise<{ code: number; out: string }> {
  const args = ['tsx', 'cli/main.ts', 'model', 'parity', '--model', GOLDEN_DIR, '--reference', reference, '--backend', 'wasm'];
  try {
    const { stdout, stderr } = await run('npx', args, { cwd: ROOT });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe('margin-mse model parity', () => {
  it('prints the differences per quantity and exits 1 past tolerance, 0 within', async () => {
    const golden = JSON.parse(await fsp.readFile(path.join(GOLDEN_DIR, 'golden.json'), 'utf8'));
    const keep = { query: golden.query, pos: golden.pos, neg: golden.neg, query_cls: golden.query_cls, score_pos: golden.score_pos };
    const good = path.join(tmp, 'good.json');
    await fsp.writeFile(good, JSON.stringify(keep));
    const bad = path.join(tmp, 'bad.json');
    await fsp.writeFile(bad, JSON.stringify({ ...keep, score_pos: golden.score_pos.map((s: number) => s * 1.001) }));

    const ok = await parity(good);
    expect(ok.out).toMatch(/query_cls\s+\S+e-\d+\s+\S+e-\d+\s+1\.00e-4\s+ok/);
    expect(ok.out).toMatch(/PASS on wasm: 2\/2 quantities within tolerance/);
    expect(ok.code).toBe(0);

    const no = await parity(bad);
    expect(no.out).toMatch(/score_pos\s+\S+\s+9\.99e-4\s+1\.00e-4\s+FAIL/);
    expect(no.out).toMatch(/FAIL on wasm: 1\/2/);
    expect(no.code).toBe(1);

  }, 120_000);
});
