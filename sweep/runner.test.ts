import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SweepConfig } from './config.js';
import { childEnv, runSweep, type SweepEvent } from './runner.js';
import type { RunCommand } from './runs.js';

/**
 * The queue, skip and summary logic with a stand-in for `margin-mse train`: a node child that sleeps
 * `ms` and writes summary.json with best.value = seed / 10 (so the expected order is known).
 */
const FAKE = `
const fs = require('fs'), path = require('path');
const [dir, seed, ms] = process.argv.slice(1);
setTimeout(() => {
  fs.mkdirSync(dir, { recursive: true });
  if (seed !== '3') fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ best: { value: Number(seed) / 10 } }));
  else fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ best: {} }));
  console.log('trained', seed);
}, Number(ms));`;
const fake =
  (msFor: (seed: number) => number): RunCommand =>
  (run) => ({ file: process.execPath, args: ['-e', FAKE, run.runDir, String(run.values['run.seed']), String(msFor(run.values['run.seed'] as number))], cwd: os.tmpdir() });

describe('sweep runner', () => {
  it('runs 4 runs 2 at a time, resumes after an interruption without redoing finished runs, and summarizes', async () => {
    const out = await fsp.mkdtemp(path.join(os.tmpdir(), 'sweep-'));
    const sweep = { ...SweepConfig.parse({ name: 'tiny', out_dir: out, concurrency: 2, params: { 'run.seed': [1, 2, 3, 4] } }), file: 'x.yaml' };
    const dir = path.join(out, 'tiny');

    // First attempt: seed 1 is quick, seed 2 hangs; the sweep is interrupted when seed 1 ends.
    const controller = new AbortController();
    const events: SweepEvent[] = [];
    const first = await runSweep(sweep, {
      command: fake((seed) => (seed === 1 ? 100 : 60_000)),
      validate: false,
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'end' && e.run === 'seed=1') controller.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    expect(events.filter((e) => e.type === 'start').map((e) => e.run).sort()).toEqual(['seed=1', 'seed=2']);
    const killed = events.find((e) => e.type === 'end' && e.run === 'seed=2');
    expect(killed).toMatchObject({ code: null, signal: 'SIGTERM' });
    await expect(fsp.stat(path.join(dir, 'seed=2', 'summary.json'))).rejects.toThrow();
    await expect(fsp.stat(path.join(dir, 'summary.md'))).rejects.toThrow(); // no summary of a half sweep

    // Restart: seed 1 is skipped, the other three run, never more than 2 at once.
    const again: SweepEvent[] = [];
    let running = 0;
    let maxRunning = 0;
    const second = await runSweep(sweep, {
      command: fake(() => 300),
      validate: false,
      onEvent: (e) => {
        again.push(e);
        if (e.type === 'start') maxRunning = Math.max(maxRunning, ++running);
        if (e.type === 'end') running--;
      },
    });
    expect(second).toMatchObject({ skipped: 1, ran: 3, failed: 0, interrupted: false });
    expect(again.filter((e) => e.type === 'skip').map((e) => e.run)).toEqual(['seed=1']);
    expect(again.filter((e) => e.type === 'start').map((e) => e.run).sort()).toEqual(['seed=2', 'seed=3', 'seed=4']);
    expect(maxRunning).toBe(2);
    expect(await fsp.readFile(path.join(dir, 'logs', 'seed=4.log'), 'utf8')).toBe('trained 4\n');

    // Summary: sorted by the measure (higher first), the run without one last.
    const rows = second.summary!.rows;
    expect(rows.map((r) => [r.rank, r.run, r.metric, r.status])).toEqual([
      [1, 'seed=4', 0.4, 'done'],
      [2, 'seed=2', 0.2, 'done'],
      [3, 'seed=1', 0.1, 'done'],
      [null, 'seed=3', null, 'no-metric'],
    ]);
    expect(await fsp.readFile(path.join(dir, 'summary.csv'), 'utf8')).toBe(
      'rank,run,run.seed,validation,status\n1,seed=4,4,0.4000,done\n2,seed=2,2,0.2000,done\n3,seed=1,1,0.1000,done\n,seed=3,3,,no-metric\n',
    );
    const md = await fsp.readFile(path.join(dir, 'summary.md'), 'utf8');
    expect(md).toContain('| 1 | seed=4 | 4 | 0.4000 | done |');
    expect((await fsp.stat(path.join(dir, 'summary.png'))).size).toBeGreaterThan(1000);

    // A third start has nothing left to do.
    const third = await runSweep(sweep, { command: fake(() => 0), validate: false });
    expect(third).toMatchObject({ skipped: 4, ran: 0 });
  });

  it('counts a run whose child fails, and leaves it pending for the next start', async () => {
    const out = await fsp.mkdtemp(path.join(os.tmpdir(), 'sweep-'));
    const sweep = { ...SweepConfig.parse({ name: 'f', out_dir: out, params: { 'run.seed': [1] } }), file: 'x.yaml' };
    const res = await runSweep(sweep, { command: () => ({ file: process.execPath, args: ['-e', 'process.exit(3)'], cwd: out }), validate: false });
    expect(res).toMatchObject({ ran: 1, failed: 1 });
    expect(res.summary!.rows[0].status).toBe('pending');
  });

  it('waits for a child an earlier, hard-killed sweep left running before starting its run again', async () => {
    const out = await fsp.mkdtemp(path.join(os.tmpdir(), 'sweep-'));
    const sweep = { ...SweepConfig.parse({ name: 'o', out_dir: out, params: { 'run.seed': [5] } }), file: 'x.yaml' };
    // The orphan: a process still alive, named by the run's pid file.
    const orphan = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1500)']);
    await fsp.mkdir(path.join(out, 'o', 'logs'), { recursive: true });
    await fsp.writeFile(path.join(out, 'o', 'logs', 'seed=5.pid'), String(orphan.pid));
    const exited = new Promise((r) => orphan.on('exit', r));
    const events: string[] = [];
    await runSweep(sweep, {
      command: fake(() => 0),
      validate: false,
      onEvent: (e) => events.push(e.type === 'start' ? `start ${orphan.exitCode !== null || orphan.signalCode !== null ? 'after' : 'before'} exit` : e.type),
    });
    await exited;
    expect(events).toEqual(['wait', 'start after exit', 'end']);
  });
});

describe('childEnv', () => {
  it('shares the cores among concurrent runs for wasm and ONNX Runtime threads, unless the user chose a count', () => {
    const cores = os.availableParallelism();
    expect(childEnv(1, { PATH: '/bin' })).toEqual({ PATH: '/bin', MARGIN_MSE_THREADS: String(cores) });
    expect(childEnv(cores * 4, {}).MARGIN_MSE_THREADS).toBe('1');
    expect(childEnv(2, { MARGIN_MSE_THREADS: '3' }).MARGIN_MSE_THREADS).toBe('3');
  });
});
