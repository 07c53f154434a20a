import { spawn } from 'node:child_process';
import { promises as fsp, openSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import { makeDir, writeFileAtomic, writeJsonAtomic } from '../common/atomic.js';
import { ConfigError } from '../common/config.js';
import type { Config } from '../pipelines/config.js';
import { prepare } from '../data/prepare.js';
import { THREADS_ENV } from '../models/engine/threads.js';
import type { SweepConfig } from './config.js';
import { isDone, planRuns, sweepDir, trainCommand, type PlannedRun, type RunCommand } from './runs.js';
import { writeSummary, type SweepSummary } from './summary.js';
import { validateRuns } from './validate.js';

export type SweepEvent =
  | { type: 'skip'; run: string; reason: string }
  | { type: 'start'; run: string; pid: number }
  | { type: 'end'; run: string; code: number | null; signal: string | null; seconds: number }
  | { type: 'wait'; run: string; pid: number }
  | { type: 'prepare'; cacheDir: string; reused: boolean };

export interface SweepOptions {
  command?: RunCommand;
  /** Overrides the file's concurrency. */
  concurrency?: number;
  /** Aborting stops the queue and terminates the running children (their runs resume on restart). */
  signal?: AbortSignal;
  onEvent?: (e: SweepEvent) => void;
  /** Check every run's config against the schema before launching any (default true). */
  validate?: boolean;
  /** Build each distinct data cache before the runs start (default true; needs `validate`). */
  prepare?: boolean;
}

export interface SweepResult {
  skipped: number;
  ran: number;
  failed: number;
  interrupted: boolean;
  summary?: SweepSummary;
}

/**
 * Runs a sweep: each pending run as a child process through a p-queue of the configured concurrency, output
 * to `logs/<run>.log`; runs whose summary.json exists are skipped, so a restarted sweep picks up where it
 * stopped. Writes the summary when every run has ended.
 */
export async function runSweep(sweep: SweepConfig, opts: SweepOptions = {}): Promise<SweepResult> {
  const command = opts.command ?? trainCommand;
  const runs = planRuns(sweep);
  const dir = sweepDir(sweep);
  // A typo in a key fails here, for every run, before hours are spent on the first ones.
  const configs = opts.validate ?? true ? await validateRuns(sweep, runs) : [];
  if (opts.prepare ?? true) await prepareOnce(configs, opts.onEvent);
  await makeDir(path.join(dir, 'logs'));
  await writeJsonAtomic(path.join(dir, 'sweep.json'), { ...sweep, runs: runs.map((r) => ({ name: r.name, values: r.values })) });

  const result: SweepResult = { skipped: 0, ran: 0, failed: 0, interrupted: false };
  const concurrency = opts.concurrency ?? sweep.concurrency;
  const queue = new PQueue({ concurrency });
  const env = childEnv(concurrency);
  const emit = opts.onEvent ?? (() => {});
  for (const run of runs) {
    if (await isDone(run)) {
      result.skipped++;
      emit({ type: 'skip', run: run.name, reason: 'summary.json present' });
      continue;
    }
    void queue.add(async () => {
      if (opts.signal?.aborted) return;
      await waitForOrphan(run, emit, opts.signal);
      if (opts.signal?.aborted || (await isDone(run))) return;
      const ok = await runChild(run, command(run, sweep), env, emit, opts.signal);
      if (opts.signal?.aborted) return;
      result.ran++;
      if (!ok) result.failed++;
    });
  }
  await queue.onIdle();
  if (opts.signal?.aborted) return { ...result, interrupted: true };
  result.summary = await writeSummary(sweep);
  return result;
}

/**
 * The children's environment: the cores shared out among the concurrent runs (MARGIN_MSE_THREADS, for the
 * wasm backend's and ONNX Runtime's threads; every run would otherwise take every core), unless the user set it.
 */
export function childEnv(concurrency: number, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env[THREADS_ENV]) return env;
  return { ...env, [THREADS_ENV]: String(Math.max(1, Math.floor(os.availableParallelism() / concurrency))) };
}

/** Runs one child to its end; resolves true on exit code 0. */
async function runChild(
  run: PlannedRun,
  c: { file: string; args: string[]; cwd: string },
  env: NodeJS.ProcessEnv,
  emit: (e: SweepEvent) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const start = Date.now();
  const fd = openSync(run.logFile, 'a');
  try {
    const child = spawn(c.file, c.args, { cwd: c.cwd, env, stdio: ['ignore', fd, fd] });
    if (child.pid !== undefined) {
      await writeFileAtomic(run.pidFile, String(child.pid));
      emit({ type: 'start', run: run.name, pid: child.pid });
    }
    const stop = () => {
      child.kill('SIGTERM');
      // A child that ignores SIGTERM gets SIGKILL after 10 s.
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 10_000).unref();
    };
    signal?.addEventListener('abort', stop, { once: true });
    const [code, sig] = await new Promise<[number | null, string | null]>((resolve) => {
      child.on('error', () => resolve([127, null]));
      child.on('exit', (code, sig) => resolve([code, sig]));
    });
    signal?.removeEventListener('abort', stop);
    await fsp.rm(run.pidFile, { force: true });
    emit({ type: 'end', run: run.name, code, signal: sig, seconds: (Date.now() - start) / 1000 });
    return code === 0;
  } finally {
    closeSync(fd);
  }
}

/**
 * A sweep killed hard (SIGKILL) leaves its children running; a restart must not start the same run twice
 * into one folder, so it waits for a child whose pid file is still there and whose process is alive.
 */
async function waitForOrphan(run: PlannedRun, emit: (e: SweepEvent) => void, signal?: AbortSignal): Promise<void> {
  const pid = Number(await fsp.readFile(run.pidFile, 'utf8').catch(() => ''));
  if (!pid || !alive(pid)) return;
  emit({ type: 'wait', run: run.name, pid });
  while (alive(pid) && !signal?.aborted) await new Promise((r) => setTimeout(r, 1000));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs that share a data section would all need its cache when they start together: prepare's lock would make
 * all but one of them wait, idle, while it is built; building each distinct cache here first lets them all
 * start on it at once. Runs whose data sections differ must not share a cache folder: each would replace the
 * others' cache.
 */
async function prepareOnce(configs: Config[], onEvent?: (e: SweepEvent) => void): Promise<void> {
  const byDir = new Map<string, string>();
  for (const c of configs) {
    const dir = path.resolve(c.data.cache_dir);
    const key = JSON.stringify(c.data);
    if (byDir.has(dir) && byDir.get(dir) !== key)
      throw new ConfigError(`sweep: runs with different data settings share data.cache_dir ${dir}; give each its own (e.g. sweep data.cache_dir too, or set it per data value)`);
    byDir.set(dir, key);
  }
  const done = new Set<string>();
  for (const c of configs) {
    const dir = path.resolve(c.data.cache_dir);
    if (done.has(dir)) continue;
    done.add(dir);
    const r = await prepare(c.data);
    onEvent?.({ type: 'prepare', cacheDir: r.cacheDir, reused: r.reused });
  }
}
