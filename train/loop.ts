import { promises as fsp } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic, writeJsonAtomic } from '../common/atomic.js';
import { InputError } from '../common/errors.js';
import { progress } from '../common/progress.js';
import { explainWasmError } from '../models/engine/wasm-heap.js';
import type { BatchSource } from '../data/batch.js';
import { Adam } from './adam.js';
import { type Checkpoint, type LoopState, saveBest, saveCheckpoint } from './checkpoint.js';
import { clipByGlobalNorm, globalNorm } from './clip.js';
import type { TrainConfig } from './config.js';
import { LOSSES } from './losses.js';
import { type MetricsRow, readMetricsLines, renderCurves } from './metrics.js';
import { lrAt } from './schedule.js';
import { batchGradients } from './step.js';
import type { Student } from './student.js';

/** How the trainer reaches the outside world without knowing it: retrieval lives in the validate hook. */
export interface TrainHooks {
  /** After every optimizer step. */
  stepEnd?(info: { step: number; loss: number; lr: number; gradNorm: number }): void | Promise<void>;
  /** Every `validation.every` steps: the validation measure of the student as it is now (higher is better). */
  validate?(step: number): Promise<number>;
}

export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
}

export interface LoopOptions {
  student: Student;
  /** Opened at the checkpoint's cursor when resuming. */
  source: BatchSource;
  config: TrainConfig;
  runDir: string;
  seed: number;
  hooks?: TrainHooks;
  /** Continue from this checkpoint: weights, Adam state and loop state are restored from it. */
  resume?: Checkpoint;
  /** Total steps for the ETA and the cosine schedule when max_steps is not set (e.g. from epochs × rows). */
  totalSteps?: number;
  log?: (msg: string) => void;
  /** Whether to show a progress bar / progress lines (default true). */
  showProgress?: boolean;
  /** Aborted (e.g. on Ctrl-C): the loop stops after the current step and saves a checkpoint to resume from. */
  stop?: AbortSignal;
}

export interface TrainSummary {
  /** 'interrupted': stopped through LoopOptions.stop; no summary.json is written, so the run is not done. */
  status: 'finished' | 'interrupted';
  reason: string;
  steps: number;
  triples: number;
  skipped: number;
  best: { step: number; measure: string; value: number } | null;
  last_loss: number | null;
  /** Throughput of this process (a resumed run counts from its resume). */
  elapsed_s: number;
  steps_per_s: number;
  triples_per_s: number;
  curves: string | null;
}

const freshState = (): LoopState => ({
  step: 0, triples: 0, skipped: 0, lrScale: 1, best: null, badValidations: 0, plateauBad: 0, finished: null,
});

/**
 * The training loop: batches from `source`, loss by name on the student's scores, gradients (over
 * micro-batches when configured), non-finite check, clipping, torch-exact Adam at the scheduled lr.
 * Every `log_every` steps a metrics row; every `validation.every` steps the validate hook, best/ and early
 * stopping; every `checkpoint_every` steps (and at the end) a checkpoint with everything a resume needs.
 */
export async function runLoop(o: LoopOptions): Promise<TrainSummary> {
  const cfg = o.config;
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const loss = LOSSES[cfg.loss];
  const adam = new Adam(o.student.params, cfg.adam);
  const state: LoopState = o.resume ? structuredClone(o.resume.state.loop) : freshState();
  const metricsFile = path.join(o.runDir, 'metrics.jsonl');
  const measure = cfg.validation.measure;
  let lastCheckpoint: string | null = o.resume?.dir ?? null;

  if (o.resume) {
    try {
      restore(o.resume, o.student, adam);
    } catch (e) {
      adam.dispose();
      throw e;
    }
    await keepMetricsUpTo(metricsFile, state.step);
    log(`resumed from ${o.resume.dir} at step ${state.step}`);
  } else {
    await writeFileAtomic(metricsFile, ''); // a fresh start in a folder an earlier attempt left rows in
  }

  const total = cfg.max_steps ?? o.totalSteps;
  const sched = { lr: cfg.lr, schedule: cfg.schedule, warmup_steps: cfg.warmup_steps, total_steps: total, min_lr_ratio: cfg.min_lr_ratio };
  const bar = o.showProgress === false ? null : progress({ label: 'train', total, unit: 'step' });
  if (state.step > 0) bar?.tick(state.step);
  const t0 = Date.now();
  const startStep = state.step;
  const startTriples = state.triples;
  let window = { loss: 0, n: 0, since: Date.now(), steps: 0, triples: 0 };
  let lastLoss: number | null = null;

  const checkpoint = async () => {
    lastCheckpoint = await saveCheckpoint(
      o.runDir,
      {
        weights: o.student.params,
        modelConfig: o.student.config,
        adam: adam.state(),
        state: { loop: state, adamStep: adam.step, cursor: o.source.cursor(), rng: { seed: o.seed } },
      },
      cfg.keep_checkpoints,
    );
  };

  try {
    while (state.finished === null) {
      if (o.stop?.aborted) break;
      if (cfg.max_steps !== null && state.step >= cfg.max_steps) {
        state.finished = 'max_steps';
        break;
      }
      const batch = await o.source.next();
      if (!batch) {
        state.finished = 'end_of_data';
        break;
      }
      const lr = lrAt(state.step + 1, sched) * state.lrScale;
      let value: number;
      let grads: Map<string, tf.Tensor>;
      try {
        ({ loss: value, grads } = await batchGradients(o.student, loss, batch, cfg.accumulation_steps));
      } catch (e) {
        throw explainWasmError(e); // the wasm heap's crash does not say "out of memory"; this does
      }
      const norm = Number.isFinite(value) ? await globalNorm(grads) : NaN;
      if (!Number.isFinite(value) || !Number.isFinite(norm)) {
        tf.dispose([...grads.values()]);
        const what = `step ${state.step + 1}: non-finite ${Number.isFinite(value) ? `gradient (global norm ${norm})` : `loss (${value})`}`;
        if (cfg.on_nonfinite === 'stop') {
          throw new NonFiniteError(
            `${what}; training stopped (train.on_nonfinite=stop). Last good checkpoint: ${lastCheckpoint ?? 'none yet'}. ` +
              'Lower train.lr, set train.max_grad_norm, or set train.on_nonfinite=skip to skip such batches.',
          );
        }
        state.skipped++;
        state.triples += batch.size;
        log(`${what}; batch skipped (${state.skipped} so far)`);
        if (state.skipped > cfg.max_nonfinite) {
          throw new NonFiniteError(`${state.skipped} batches skipped for non-finite values (train.max_nonfinite=${cfg.max_nonfinite}); training stopped. Last good checkpoint: ${lastCheckpoint ?? 'none yet'}`);
        }
        continue;
      }
      const clipped = cfg.max_grad_norm === null ? { grads } : clipByGlobalNorm(grads, cfg.max_grad_norm, norm);
      adam.apply(clipped.grads, lr);
      tf.dispose([...new Set([...grads.values(), ...clipped.grads.values()])]);

      state.step++;
      state.triples += batch.size;
      lastLoss = value;
      window.loss += value;
      window.n++;
      window.steps++;
      window.triples += batch.size;
      await o.hooks?.stepEnd?.({ step: state.step, loss: value, lr, gradNorm: norm });

      let shown: Record<string, string> | undefined;
      if (state.step % cfg.log_every === 0) {
        const secs = Math.max((Date.now() - window.since) / 1000, 1e-9);
        const mean = window.loss / window.n;
        const triplesPerS = window.triples / secs;
        const row: MetricsRow = {
          step: state.step, loss: mean, lr, grad_norm: norm,
          steps_per_s: window.steps / secs, triples_per_s: triplesPerS, skipped: state.skipped,
        };
        await fsp.appendFile(metricsFile, `${JSON.stringify(row)}\n`);
        shown = { loss: mean.toFixed(4), 'triples/s': triplesPerS.toFixed(1) };
        window = { loss: 0, n: 0, since: Date.now(), steps: 0, triples: 0 };
      }
      bar?.tick(1, shown);

      const every = cfg.validation.every;
      if (every > 0 && o.hooks?.validate && state.step % every === 0) {
        const v = await o.hooks.validate(state.step);
        const improved = state.best === null || v > state.best.value;
        const row: MetricsRow = { step: state.step, validation: { [measure]: v }, best: improved };
        await fsp.appendFile(metricsFile, `${JSON.stringify(row)}\n`);
        log(`step ${state.step}: validation ${measure} ${v.toFixed(4)}${improved ? ' (best)' : ''}`);
        if (improved) {
          state.best = { step: state.step, value: v };
          state.badValidations = 0;
          state.plateauBad = 0;
          await saveBest(o.runDir, o.student.params, o.student.config, { step: state.step, measure, value: v });
        } else {
          state.badValidations++;
          state.plateauBad++;
          if (cfg.plateau_factor < 1 && state.plateauBad >= cfg.plateau_patience) {
            state.lrScale *= cfg.plateau_factor;
            state.plateauBad = 0;
            log(`step ${state.step}: no improvement for ${cfg.plateau_patience} validations, lr × ${cfg.plateau_factor}`);
          }
          if (state.step >= cfg.validation.min_steps && state.badValidations >= cfg.validation.patience) {
            state.finished = 'early_stopping';
          }
        }
        await renderCurves(metricsFile, path.join(o.runDir, 'curves'), measure).catch((e) => log(`curves not drawn: ${(e as Error).message}`));
      }
      if (state.finished === null && state.step % cfg.checkpoint_every === 0) await checkpoint();
    }
    await checkpoint(); // the end state, so `--resume` of a finished (or interrupted) run knows where it is
  } finally {
    bar?.stop();
    adam.dispose();
  }

  const elapsed = (Date.now() - t0) / 1000;
  const curves = await renderCurves(metricsFile, path.join(o.runDir, 'curves'), measure).catch((e) => {
    log(`curves not drawn: ${(e as Error).message}`);
    return null;
  });
  const interrupted = state.finished === null;
  const summary: TrainSummary = {
    status: interrupted ? 'interrupted' : 'finished',
    reason: state.finished ?? 'interrupted',
    steps: state.step,
    triples: state.triples,
    skipped: state.skipped,
    best: state.best && { step: state.best.step, measure, value: state.best.value },
    last_loss: lastLoss,
    elapsed_s: elapsed,
    steps_per_s: (state.step - startStep) / Math.max(elapsed, 1e-9),
    triples_per_s: (state.triples - startTriples) / Math.max(elapsed, 1e-9),
    curves,
  };
  if (interrupted) {
    log(`training interrupted at step ${state.step}: checkpoint ${lastCheckpoint}; continue with --resume`);
    return summary;
  }
  await writeJsonAtomic(path.join(o.runDir, 'summary.json'), summary);
  log(`training ${summary.reason} at step ${summary.steps}: ${summary.steps_per_s.toFixed(2)} steps/s, ${summary.triples_per_s.toFixed(1)} triples/s` +
    (summary.best ? `, best ${measure} ${summary.best.value.toFixed(4)} at step ${summary.best.step}` : ''));
  return summary;
}

/** Puts a checkpoint's weights and Adam moments into the student and the optimizer; errors name the file. */
function restore(c: Checkpoint, student: Student, adam: Adam): void {
  const file = path.join(c.dir, 'model.safetensors');
  for (const [name, p] of student.params) {
    const w = c.weights.get(name);
    if (!w) throw new InputError(file, undefined, `a tensor '${name}' (a parameter of the student)`, 'none');
    if (w.shape.join(',') !== p.shape.join(',')) throw new InputError(file, undefined, `'${name}' of shape [${p.shape}]`, `[${w.shape}]`);
    p.assign(w);
  }
  try {
    adam.load(c.adam);
  } catch (e) {
    throw new InputError(path.join(c.dir, 'optimizer.safetensors'), undefined, 'Adam moments m and v for every parameter, shaped like it', (e as Error).message);
  }
}

/** On resume, drops metrics rows written after the checkpoint (they will be written again) and a torn last row. */
async function keepMetricsUpTo(file: string, step: number): Promise<void> {
  const kept = (await readMetricsLines(file)).filter((l) => l.row.step <= step);
  await writeFileAtomic(file, kept.map((l) => `${l.text}\n`).join(''));
}
