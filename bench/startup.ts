/**
 * Start-up of commands that need no model (`npx tsx bench/startup.ts [--runs N] [--tsx] [--before DIR]`): wall time of
 * `node -e 0` (the floor), then, with the compiled CLI (bin/margin-mse.js running dist/, built first when a
 * source is newer), `margin-mse --help`, `eval metrics` of ../shared's DL'19 BM25 run (21 500 lines) against
 * its qrels, and `data tokenize` of one line with the bundled vocab. Goal (issue 16): each under 0.3 s idle.
 * `--tsx` adds the same commands run from the TypeScript sources through tsx (the start-up before dist/),
 * with the ratio; `--before DIR` the same commands with another checkout's bin/margin-mse.js (e.g. one
 * extracted from the commit before issue 16, with this node_modules linked in), with the ratio. Each figure is the median of `--runs` (default 7) after one warm-up run; take them at idle.
 * Prints a table and writes bench/out/startup.json.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { build, buildIsCurrent } from '../bin/build.js';
import { writeJsonAtomic } from '../common/atomic.js';
import { ROOT, sharedPath } from '../common/paths.js';
import { textTable } from '../eval/table.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;
const WITH_TSX = process.argv.includes('--tsx');
const beforeArg = process.argv.indexOf('--before');
const BEFORE = beforeArg > 0 ? path.resolve(process.argv[beforeArg + 1]) : undefined;

interface Case {
  name: string;
  args: string[];
  input?: string;
}

const CASES: Case[] = [
  { name: '--help', args: ['--help'] },
  { name: 'eval metrics (DL\'19 BM25 run)', args: ['eval', 'metrics', '--qrels', sharedPath('data/trec/qrels.dl19-passage.txt'), '--run', sharedPath('data/runs/dl19-passage.bm25-top500.trec'), '--min-rel', '2'] },
  { name: 'data tokenize (one line)', args: ['data', 'tokenize'], input: 'what is the capital of france\n' },
];

/** Median wall seconds of `cmd args` over RUNS runs after one warm-up; throws when the command fails. */
function time(cmd: string, args: string[], input?: string): number {
  const once = () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: ROOT, input, stdio: ['pipe', 'ignore', 'pipe'] });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${String(r.stderr).slice(0, 500)}`);
    return s;
  };
  once();
  const times = Array.from({ length: RUNS }, once).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

if (!buildIsCurrent() && ![0, 2].includes(build())) throw new Error('building dist/ failed');
const node = process.execPath;
const bin = path.join(ROOT, 'bin', 'margin-mse.js');
const floor = time(node, ['-e', '0']);
const rows = CASES.map((c) => {
  const compiled = time(node, [bin, ...c.args], c.input);
  const tsx = WITH_TSX ? time(node, ['--import', 'tsx', path.join(ROOT, 'cli', 'main.ts'), ...c.args], c.input) : undefined;
  const before = BEFORE ? time(node, [path.join(BEFORE, 'bin', 'margin-mse.js'), ...c.args], c.input) : undefined;
  return { name: c.name, compiled, tsx, before, goal_met: compiled < 0.3 };
});

const fmt = (s: number | undefined) => (s === undefined ? '' : s.toFixed(3));
console.log(`node -e 0: ${fmt(floor)} s (median of ${RUNS})`);
console.log(
  textTable(
    ['command', 'compiled (s)', ...(WITH_TSX ? ['tsx (s)', 'tsx / compiled'] : []), ...(BEFORE ? ['before (s)', 'before / compiled'] : []), '< 0.3 s'],
    rows.map((r) => [
      r.name,
      fmt(r.compiled),
      ...(WITH_TSX ? [fmt(r.tsx), (r.tsx! / r.compiled).toFixed(1)] : []),
      ...(BEFORE ? [fmt(r.before), (r.before! / r.compiled).toFixed(1)] : []),
      r.goal_met ? 'yes' : 'no',
    ]),
  ),
);
await writeJsonAtomic(path.join(ROOT, 'bench', 'out', 'startup.json'), { runs: RUNS, node_seconds: floor, before: BEFORE, rows });
