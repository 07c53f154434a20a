import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { recoverDir, writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../common/atomic.js';
import type { BatchCursor } from '../data/batch.js';
import type { AdamState } from './adam.js';
import type { LoopState } from './state.js';
import { readSafetensors as readTensors, writeSafetensors as writeTensors } from '../models/weights/safetensors.js';

export interface CheckpointState {
  format: 1;
  loop: LoopState;
  adamStep: number;
  cursor: BatchCursor;
  /** The run's seed. The loop itself draws no random numbers (the student has no dropout); the batcher's
   * shuffling state travels inside `cursor`. */
  rng: { seed: number };
  /** sha256 of every file in the checkpoint: a checkpoint whose files do not match is never loaded. */
  files: Record<string, string>;
}

export interface Checkpoint {
  dir: string;
  state: CheckpointState;
  modelConfig: Record<string, unknown>;
  weights: Map<string, tf.Tensor>;
  adam: AdamState;
}

const STEP_DIR = /^step-(\d+)$/;
const stepDirName = (step: number) => `step-${String(step).padStart(8, '0')}`;

async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await fsp.readFile(file)).digest('hex');
}

/** Writes model weights and config.json into `dir` (an HF-style folder: config.json + model.safetensors). */
async function writeModel(dir: string, weights: Map<string, tf.Tensor>, modelConfig: Record<string, unknown>): Promise<void> {
  await writeTensors(path.join(dir, 'model.safetensors'), weights);
  await writeJsonAtomic(path.join(dir, 'config.json'), modelConfig);
}

/**
 * Writes `<runDir>/step-NNNNNNNN/` atomically (filled in a temp directory, then renamed; every file fsynced
 * before the rename, so a power loss cannot leave the folder with empty files): model.safetensors,
 * config.json (model config), optimizer.safetensors (Adam moments `m.<name>`, `v.<name>`), state.json
 * (loop state, Adam step, data cursor, seed, file hashes; written last). Then keeps only the newest `keep`.
 */
export async function saveCheckpoint(
  runDir: string,
  c: Omit<Checkpoint, 'dir' | 'state'> & { state: Omit<CheckpointState, 'files' | 'format'> },
  keep: number,
): Promise<string> {
  const dir = path.join(runDir, stepDirName(c.state.loop.step));
  await writeDirAtomic(dir, async (tmp) => {
    await writeModel(tmp, c.weights, c.modelConfig);
    const moments = new Map<string, tf.Tensor>();
    for (const [k, t] of c.adam.m) moments.set(`m.${k}`, t);
    for (const [k, t] of c.adam.v) moments.set(`v.${k}`, t);
    await writeTensors(path.join(tmp, 'optimizer.safetensors'), moments);
    const files: Record<string, string> = {};
    for (const f of ['model.safetensors', 'config.json', 'optimizer.safetensors']) files[f] = await sha256(path.join(tmp, f));
    const state: CheckpointState = { format: 1, ...c.state, files };
    await writeJsonAtomic(path.join(tmp, 'state.json'), state);
  });
  const steps = await listSteps(runDir);
  for (const old of steps.slice(0, Math.max(steps.length - keep, 0))) {
    await fsp.rm(path.join(runDir, stepDirName(old)), { recursive: true, force: true });
  }
  return dir;
}

/** Step numbers of the step-* folders in a run folder, ascending (temp folders start with '.' and are ignored). */
async function listSteps(runDir: string): Promise<number[]> {
  let names = await fsp.readdir(runDir).catch(() => [] as string[]);
  // A crash in the middle of re-saving a step folder leaves it under its backup name: put it back first.
  const interrupted = names.flatMap((n) => /^\.(step-\d+)\.previous$/.exec(n)?.[1] ?? []);
  if (interrupted.length > 0) {
    for (const name of interrupted) await recoverDir(path.join(runDir, name));
    names = await fsp.readdir(runDir);
  }
  return names.flatMap((n) => (STEP_DIR.test(n) ? [Number(STEP_DIR.exec(n)![1])] : [])).sort((a, b) => a - b);
}

/** Every step-NNNNNNNN/ folder of a run, oldest first, complete or not (see latestCheckpoint for a usable one). */
export async function checkpointDirs(runDir: string): Promise<string[]> {
  return (await listSteps(runDir)).map((step) => path.join(runDir, stepDirName(step)));
}

/** Why a checkpoint folder is not loadable, or null when its state.json parses and every hash matches. */
async function verifyCheckpoint(dir: string): Promise<string | null> {
  let state: CheckpointState;
  try {
    state = JSON.parse(await fsp.readFile(path.join(dir, 'state.json'), 'utf8')) as CheckpointState;
  } catch (e) {
    return `state.json unreadable (${(e as Error).message})`;
  }
  if (state.format !== 1 || !state.files) return 'state.json is not a checkpoint state (format 1)';
  for (const [f, hash] of Object.entries(state.files)) {
    const got = await sha256(path.join(dir, f)).catch(() => 'missing');
    if (got !== hash) return `${f} ${got === 'missing' ? 'is missing' : 'does not match its hash in state.json'}`;
  }
  return null;
}

/**
 * The newest complete checkpoint of a run (`latest`), or null when there is none. Folders that fail
 * verification (a torn or corrupted write) are passed over with a warning, never loaded.
 */
export async function latestCheckpoint(runDir: string, warn: (msg: string) => void = () => {}): Promise<string | null> {
  const steps = await listSteps(runDir);
  for (const step of steps.reverse()) {
    const dir = path.join(runDir, stepDirName(step));
    const why = await verifyCheckpoint(dir);
    if (why === null) return dir;
    warn(`checkpoint ${dir} skipped: ${why}`);
  }
  return null;
}

/** Loads a verified checkpoint folder (tensors are new; the caller disposes them). */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const why = await verifyCheckpoint(dir);
  if (why !== null) throw new Error(`checkpoint ${dir} cannot be loaded: ${why}`);
  const state = JSON.parse(await fsp.readFile(path.join(dir, 'state.json'), 'utf8')) as CheckpointState;
  const modelConfig = JSON.parse(await fsp.readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const weights = await readTensors(path.join(dir, 'model.safetensors'));
  const moments = await readTensors(path.join(dir, 'optimizer.safetensors'));
  const m = new Map<string, tf.Tensor>();
  const v = new Map<string, tf.Tensor>();
  for (const [k, t] of moments) (k.startsWith('m.') ? m : v).set(k.slice(2), t);
  return { dir, state, modelConfig, weights, adam: { step: state.adamStep, m, v } };
}

export interface BestInfo {
  step: number;
  measure: string;
  value: number;
}

/**
 * Replaces `<runDir>/best/` atomically with the given weights: an HF-style folder plus best.json, and `files`
 * (name in best/ → source file, e.g. `vocab.txt`) copied beside them, so best/ works where a model folder
 * is asked for (eval's --model reads MODEL/vocab.txt).
 */
export async function saveBest(
  runDir: string,
  weights: Map<string, tf.Tensor>,
  modelConfig: Record<string, unknown>,
  info: BestInfo,
  files: Record<string, string> = {},
): Promise<string> {
  const dir = path.join(runDir, 'best');
  await writeDirAtomic(dir, async (tmp) => {
    await writeModel(tmp, weights, modelConfig);
    for (const [name, source] of Object.entries(files)) await writeFileAtomic(path.join(tmp, name), await fsp.readFile(source));
    await writeJsonAtomic(path.join(tmp, 'best.json'), info);
  });
  return dir;
}
