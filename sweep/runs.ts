import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../common/paths.js';
import type { SweepConfig } from './config.js';
import { expandRuns, runSets, type SweepRun } from './expand.js';

/** A sweep run with everything needed to launch it and to find its results. */
export interface PlannedRun extends SweepRun {
  /** `--set` overrides, the sweep's and the run's. */
  sets: string[];
  runDir: string;
  logFile: string;
  pidFile: string;
}

/** How a run is launched: a program and its arguments, run in `cwd`. Tests swap in a stand-in. */
export type RunCommand = (run: PlannedRun, sweep: SweepConfig) => { file: string; args: string[]; cwd: string };

/** A run is complete when its trainer has written this file. */
export const DONE_FILE = 'summary.json';

export const sweepDir = (sweep: Pick<SweepConfig, 'out_dir' | 'name'>) => path.resolve(sweep.out_dir, sweep.name);

export function planRuns(sweep: SweepConfig): PlannedRun[] {
  const dir = sweepDir(sweep);
  return expandRuns(sweep).map((run) => ({
    ...run,
    sets: runSets(sweep, run, dir),
    runDir: path.join(dir, run.name),
    logFile: path.join(dir, 'logs', `${run.name}.log`),
    pidFile: path.join(dir, 'logs', `${run.name}.pid`),
  }));
}

/**
 * `margin-mse train --config BASE --set ...` through the project's own entry point (no npx wrapper to kill),
 * in the working directory of the sweep, so relative paths in configs mean what they mean to `margin-mse train`.
 * A run folder that already has its config.yaml is an interrupted run: `--resume` continues its latest
 * checkpoint (the trainer refuses to start afresh over checkpoints).
 */
export const trainCommand: RunCommand = (run, sweep) => ({
  file: process.execPath,
  args: [
    path.join(ROOT, 'bin', 'margin-mse.js'),
    'train',
    ...(existsSync(path.join(run.runDir, 'config.yaml')) ? ['--resume'] : []),
    ...(sweep.base ? ['--config', sweep.base] : []),
    ...run.sets.flatMap((s) => ['--set', s]),
  ],
  cwd: process.cwd(),
});

export async function isDone(run: PlannedRun): Promise<boolean> {
  return fsp.stat(path.join(run.runDir, DONE_FILE)).then(
    () => true,
    () => false,
  );
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** One self-contained shell line per run, for a scheduler (Slurm array task N runs line N). */
export function planCommands(sweep: SweepConfig, runs: PlannedRun[], command: RunCommand = trainCommand): string[] {
  return runs.map((run) => {
    const c = command(run, sweep);
    return `cd ${shellQuote(c.cwd)} && ${[c.file, ...c.args].map(shellQuote).join(' ')}`;
  });
}
