import { promises as fsp } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic, writeJsonAtomic } from '../common/atomic.js';
import { progress } from '../common/progress.js';
import type { BatchSource } from '../data/batch.js';
import { Adam } from './adam.js';
import { type Checkpoint, saveBest, saveCheckpoint } from './checkpoint.js';
import { clipByGlobalNorm, globalNorm } from './clip.js';
import type { TrainConfig } from './config.js';
import { afterValidation } from './early-stopping.js';
import { lossTerms } from './loss-terms.js';
import { type MetricsRow, renderCurves } from './metrics.js';
import { addStep, openWindow, windowRow } from './metrics-window.js';
import { NonFiniteError, checkFinite } from './nonfinite.js';
import { keepMetricsUpTo, restore } from './resume.js';
import { lrAt } from './schedule.js';
import { type LoopState, freshState } from './state.js';
import { stepGradients } from './step.js';
import type { Student } from './student.js';
import { type TrainSummary, summarize } from './summary.js';

/** How the trainer reaches the outside world without knowing it: retrieval lives in the validate hook. */
export interface TrainHooks {
  /** After every optimizer step. */
  stepEnd?(info: { step: number; loss: number; lr: number; gradNorm: number }): void | Promise<void>;
  /** Every `validation.every` steps: the validation measure of the student as it is now (higher is better). */
  validate?(step: number): Promise<number>;
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
  /** Files copied into best/ beside the weights (name → source, e.g. vocab.txt), see checkpoint.ts saveBest. */
  bestFiles?: Record<string, string>;
  /** Total steps for the ETA and the cosine schedule when max_steps is not set (e.g. from epochs × rows). */
  totalSteps?: number;
  log?: (msg: string) => void;
  /** Whether to show a progress bar / progress lines (default true). */
  showProgress?: boolean;
  /** Aborted (e.g. on Ctrl-C): the loop stops after the current step and saves a checkpoint to resume from. */
  stop?: AbortSignal;
}

/**
 * The training loop. One step, top to bottom: group batch → encode → scores → weighted loss terms → gradients
 * (step.ts, over micro-batches when configured, GradCache when in-batch negatives meet them) → the non-finite policy (nonfinite.ts) → clip (clip.ts) → torch-exact Adam at the
 * scheduled lr (adam.ts, schedule.ts) → a metrics row with each term every `log_every` steps (metrics-window.ts) → every
 * `validation.every` steps the validate hook, best/, lr plateau and early stopping (early-stopping.ts) →
 * every `checkpoint_every` steps (and at the end) a checkpoint with everything a resume needs.
 */
export async function runLoop(o: LoopOptions): Promise<TrainSummary> {
  const cfg = o.config;
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const terms = lossTerms(cfg.loss);
  const accumulation = cfg.accumulation_steps;
  if (accumulation === 'auto') throw new Error("runLoop: accumulation_steps 'auto' is resolved by the driver (pipelines/memory-plan.ts) before the loop");
  const measure = cfg.validation.measure;
  const metricsFile = path.join(o.runDir, 'metrics.jsonl');
  const appendRow = (row: MetricsRow) => fsp.appendFile(metricsFile, `${JSON.stringify(row)}\n`);
  const curves = () => renderCurves(metricsFile, path.join(o.runDir, 'curves'), measure);

  const adam = new Adam(o.student.params, cfg.adam);
  let state: LoopState = o.resume ? structuredClone(o.resume.state.loop) : freshState();
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
  const checkpoint = async () => {
    const cursor = o.source.cursor();
    const saved = { loop: state, adamStep: adam.step, cursor, rng: { seed: o.seed } };
    lastCheckpoint = await saveCheckpoint(o.runDir, { weights: o.student.params, modelConfig: o.student.config, adam: adam.state(), state: saved }, cfg.keep_checkpoints);
  };

  const total = cfg.max_steps ?? o.totalSteps;
  const sched = { lr: cfg.lr, schedule: cfg.schedule, warmup_steps: cfg.warmup_steps, total_steps: total, min_lr_ratio: cfg.min_lr_ratio };
  // A resumed run's earlier steps are counted as done, not as done now (that rate read 2e9 step/s).
  const bar = o.showProgress === false ? null : progress({ label: 'train', total, unit: 'step', initial: state.step });
  const t0 = Date.now();
  const start = { step: state.step, triples: state.triples };
  let window = openWindow(Date.now());
  let lastLoss: number | null = null;

  try {
    while (state.finished === null && !o.stop?.aborted) {
      if (cfg.max_steps !== null && state.step >= cfg.max_steps) {
        state.finished = 'max_steps';
        break;
      }
      // batch
      const batch = await o.source.next();
      if (!batch) {
        state.finished = 'end_of_data';
        break;
      }
      // encode → scores → loss → gradients
      const lr = lrAt(state.step + 1, sched) * state.lrScale;
      const { loss, terms: values, grads } = await stepGradients(o.student, terms, batch, accumulation);
      const gradNorm = Number.isFinite(loss) ? await globalNorm(grads) : NaN;
      const bad = checkFinite(state, { loss, gradNorm, triples: batch.size }, cfg, lastCheckpoint);
      if (bad) {
        tf.dispose([...grads.values()]);
        state = bad.state;
        if (bad.log) log(bad.log);
        if (bad.stop) throw new NonFiniteError(bad.stop);
        continue;
      }
      // clip → Adam
      const clipped = cfg.max_grad_norm === null ? grads : clipByGlobalNorm(grads, cfg.max_grad_norm, gradNorm).grads;
      adam.apply(clipped, lr);
      tf.dispose([...new Set([...grads.values(), ...clipped.values()])]);
      state.step++;
      state.triples += batch.size;
      lastLoss = loss;
      window = addStep(window, loss, values, batch.size);
      await o.hooks?.stepEnd?.({ step: state.step, loss, lr, gradNorm });

      // log
      let shown: Record<string, string> | undefined;
      if (state.step % cfg.log_every === 0) {
        const row = windowRow(window, { step: state.step, lr, gradNorm, skipped: state.skipped }, Date.now());
        await appendRow(row);
        shown = { loss: row.loss!.toFixed(4) };
        if (terms.length > 1) for (const [k, v] of Object.entries(row.terms!)) shown[k] = v.toFixed(4); // one term alone is the loss
        // triples/s over the bar's own span, as its step/s (the log window's rate left out validation time
        // on one side only, so the two disagreed).
        const seconds = Math.max((Date.now() - t0) / 1000, 1e-3);
        shown['triples/s'] = ((state.triples - start.triples) / seconds).toFixed(1);
        window = openWindow(Date.now());
      }
      bar?.tick(1, shown);

      // validate
      if (cfg.validation.every > 0 && o.hooks?.validate && state.step % cfg.validation.every === 0) {
        const value = await o.hooks.validate(state.step);
        const { state: next, outcome } = afterValidation(state, value, cfg);
        state = next;
        await appendRow({ step: state.step, validation: { [measure]: value }, best: outcome.best });
        log(`step ${state.step}: validation ${measure} ${value.toFixed(4)}${outcome.best ? ' (best)' : ''}`);
        if (outcome.best) await saveBest(o.runDir, o.student.params, o.student.config, { step: state.step, measure, value }, o.bestFiles);
        if (outcome.lrDecayed) log(`step ${state.step}: no improvement for ${cfg.plateau_patience} validations, lr × ${cfg.plateau_factor}`);
        await curves().catch((e) => log(`curves not drawn: ${(e as Error).message}`));
      }

      // checkpoint
      if (state.finished === null && state.step % cfg.checkpoint_every === 0) await checkpoint();
    }
    await checkpoint(); // the end state, so `--resume` of a finished (or interrupted) run knows where it is
  } finally {
    bar?.stop();
    adam.dispose();
  }

  const elapsedS = (Date.now() - t0) / 1000;
  const drawn = await curves().catch((e) => {
    log(`curves not drawn: ${(e as Error).message}`);
    return null;
  });
  const summary = summarize(state, { measure, start, elapsedS, lastLoss, curves: drawn });
  if (summary.status === 'interrupted') {
    log(`training interrupted at step ${state.step}: checkpoint ${lastCheckpoint}; continue with --resume`);
    return summary;
  }
  await writeJsonAtomic(path.join(o.runDir, 'summary.json'), summary);
  log(`training ${summary.reason} at step ${summary.steps}: ${summary.steps_per_s.toFixed(2)} steps/s, ${summary.triples_per_s.toFixed(1)} triples/s` +
    (summary.best ? `, best ${measure} ${summary.best.value.toFixed(4)} at step ${summary.best.step}` : ''));
  return summary;
}
