import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../common/paths.js';
import { datasetSets } from '../pipelines/quickstart.js';
import { generate } from '../quickstart/generate.js';

/**
 * Issue 6's end-to-end check with the real `margin-mse train` children: a 4-run grid on configs/tiny.yaml
 * (2 learning rates × max_steps 2 or 8) at concurrency 2, stopped with SIGTERM once one run has finished and
 * another is mid-run (it has a checkpoint but no summary), then started again. The runs are kept tiny
 * (batch 8, a 40-query generated dataset, wasm backend) so the whole test costs ~1 min of CPU.
 */
const BIN = path.join(ROOT, 'bin', 'margin-mse.js');
const spawned: ChildProcess[] = [];

function sweepCli(cwd: string, file: string): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, 'sweep', '--config', file, '--concurrency', '2'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hasCheckpoint = (dir: string) => existsSync(dir) && readdirSync(dir).some((n) => /^step-\d+$/.test(n));

// Whatever happens, no child outlives the test: the sweeps, and any run a pid file still names.
let sweepDirForCleanup = '';
afterAll(async () => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  const logs = path.join(sweepDirForCleanup, 'logs');
  for (const f of existsSync(logs) ? readdirSync(logs).filter((n) => n.endsWith('.pid')) : []) {
    const pid = Number(await fsp.readFile(path.join(logs, f), 'utf8'));
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('sweep with real training runs', () => {
  it('runs 4 tiny runs 2 at a time, is interrupted, resumes without redoing finished runs, and summarizes them', { timeout: 300_000 }, async () => {
    const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'real-sweep-'));
    const files = await generate(path.join(tmp, 'data'), {
      topics: 30,
      passagesPerTopic: 2,
      extraPassages: 10,
      trainQueries: 40,
      devQueries: 5,
      valQueries: 5,
      bm25Depth: 10,
      triplesPerQuery: 2,
    });
    const set = [
      ...datasetSets(tmp, files).filter((s) => !s.startsWith('run.')),
      'run.backend=wasm',
      'train.batch_size=8',
      'train.warmup_steps=1',
      'train.log_every=1',
      'train.checkpoint_every=2',
      'train.validation.every=2',
    ];
    const sweepFile = path.join(tmp, 'sweep.yaml');
    await fsp.writeFile(
      sweepFile,
      JSON.stringify({ name: 'tiny4', base: path.join(ROOT, 'configs', 'tiny.yaml'), out_dir: path.join(tmp, 'sweeps'), set, params: { 'train.lr': [0.001, 0.003], 'train.max_steps': [2, 8] } }),
    );
    const dir = path.join(tmp, 'sweeps', 'tiny4');
    sweepDirForCleanup = dir;
    const runs = ['lr=0.001_max_steps=2', 'lr=0.001_max_steps=8', 'lr=0.003_max_steps=2', 'lr=0.003_max_steps=8'];
    const summaryOf = (run: string) => path.join(dir, run, 'summary.json');

    // First start: stop it (SIGTERM, as Ctrl-C or a scheduler would) when a run is done and another mid-run.
    const first = sweepCli(tmp, sweepFile);
    let exited = false;
    void first.done.then(() => (exited = true));
    for (;;) {
      const done = runs.filter((r) => existsSync(summaryOf(r)));
      if (done.length > 0 && runs.some((r) => !done.includes(r) && hasCheckpoint(path.join(dir, r)))) break;
      if (exited) throw new Error(`the sweep ended before it could be interrupted:\n${(await first.done).stderr}`);
      await sleep(100);
    }
    first.child.kill('SIGTERM');
    const r1 = await first.done;
    expect(r1.code, r1.stderr).toBe(130);
    expect(r1.stderr).toContain('sweep: interrupted');
    expect(existsSync(path.join(dir, 'summary.md'))).toBe(false); // no summary of a half sweep

    const completed = runs.filter((r) => existsSync(summaryOf(r)));
    const interrupted = runs.filter((r) => !completed.includes(r) && existsSync(path.join(dir, r, 'config.yaml')));
    expect(completed.length).toBeGreaterThanOrEqual(1);
    expect(completed.length).toBeLessThan(4);
    expect(interrupted.length).toBeGreaterThanOrEqual(1);
    // The stopped children are gone (their pid files removed), so the restart need not wait for them.
    expect(readdirSync(path.join(dir, 'logs')).filter((n) => n.endsWith('.pid'))).toEqual([]);
    const before = new Map(
      await Promise.all(completed.map(async (r) => [r, { mtime: (await fsp.stat(summaryOf(r))).mtimeMs, log: (await fsp.stat(path.join(dir, 'logs', `${r}.log`))).size }] as const)),
    );

    // Restart: completed runs are skipped and untouched, the interrupted ones continue their checkpoints.
    const r2 = await sweepCli(tmp, sweepFile).done;
    expect(r2.code, r2.stderr).toBe(0);
    for (const r of completed) {
      expect(r2.stderr).toContain(`sweep: skip ${r} (summary.json present)`);
      expect(r2.stderr).not.toContain(`sweep: start ${r} `);
      expect((await fsp.stat(summaryOf(r))).mtimeMs).toBe(before.get(r)!.mtime);
      expect((await fsp.stat(path.join(dir, 'logs', `${r}.log`))).size).toBe(before.get(r)!.log);
    }
    for (const r of interrupted) {
      expect(r2.stderr).toContain(`sweep: start ${r} `);
      expect(await fsp.readFile(path.join(dir, 'logs', `${r}.log`), 'utf8')).toMatch(/resumed from .*step-\d+ at step [1-9]/);
    }

    // Every run finished its steps; the summary lists all 4, best first, with each run's own measure.
    const results = new Map<string, number>();
    for (const r of runs) {
      const s = JSON.parse(await fsp.readFile(summaryOf(r), 'utf8')) as { steps: number; best: { value: number } };
      expect(s.steps, r).toBe(r.endsWith('max_steps=2') ? 2 : 8);
      expect(typeof s.best.value).toBe('number');
      results.set(r, s.best.value);
    }
    const csv = (await fsp.readFile(path.join(dir, 'summary.csv'), 'utf8')).trimEnd().split('\n');
    expect(csv[0]).toBe('rank,run,train.lr,train.max_steps,validation,status');
    const rows = csv.slice(1).map((l) => l.split(','));
    expect(rows.map((c) => c[1]).sort()).toEqual(runs);
    rows.forEach((c, i) => {
      const run = c[1];
      const [lr, steps] = run.match(/lr=([\d.]+)_max_steps=(\d+)/)!.slice(1);
      expect(c).toEqual([String(i + 1), run, lr, steps, results.get(run)!.toFixed(4), 'done']);
      if (i > 0) expect(results.get(rows[i - 1][1])!).toBeGreaterThanOrEqual(results.get(run)!);
    });
    const md = await fsp.readFile(path.join(dir, 'summary.md'), 'utf8');
    const mdRows = md.split('\n').filter((l) => /^\| \d/.test(l));
    expect(mdRows).toEqual(rows.map((c) => `| ${c.join(' | ')} |`));
    expect(r2.stdout).toContain(mdRows[0]);
  });
});
