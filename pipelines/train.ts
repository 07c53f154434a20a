import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { writeFileAtomic } from '../common/atomic.js';
import { Config } from './config.js';
import { resumeRun } from './resume.js';
import { ConfigError, dumpConfig, parseConfig } from '../common/config.js';
import { DataConfig, resolveVocab } from '../data/config.js';
import { openBatches } from '../data/batcher.js';
import { prepare } from '../data/prepare.js';
import { lockCache } from '../data/prepare-lock.js';
import { loadTokenizer, type Tokenizer } from '../data/tokenizer.js';
import { sequenceLengths } from '../eval/config.js';
import { evaluate } from '../eval/measures.js';
import { studentEncoder } from '../eval/embed.js';
import { rerank } from '../eval/rerank.js';
import { initBackend } from '../models/engine/backend.js';
import type { InferenceChoice } from '../models/engine/inference.js';
import { explainWasmError } from '../models/engine/wasm-heap.js';
import { DistilBert, type DistilBertConfig } from '../models/distilbert.js';
import { resolveAccumulation } from './memory-plan.js';
import { loadDistilBert, saveDistilBert } from '../models/weights/hf.js';
import { checkpointDirs, latestCheckpoint, loadCheckpoint } from '../train/checkpoint.js';
import type { ValidationConfig } from '../train/config.js';
import { lossTerms, termsNeed } from '../train/loss-terms.js';
import { LOSSES } from '../train/losses.js';
import { type TrainHooks, runLoop } from '../train/loop.js';
import { bertDotStudent, modelFromConfig } from '../train/bert-dot-student.js';
import type { TrainSummary } from '../train/summary.js';
import { hasValidationFiles, loadValidation, type ValidationData } from '../train/validation.js';

export interface TrainOptions {
  /** Continue the run folder's latest checkpoint (with the run folder's config.yaml). */
  resume?: boolean;
  /** Today's --set overrides: on resume, those that may change a running run apply (pipelines/resume.ts). */
  sets?: readonly string[];
  /** The command line, recorded in command.txt. */
  command?: string;
  /** Extra hooks (the validate hook is built from the config when validation files are set). */
  hooks?: TrainHooks;
  log?: (msg: string) => void;
  /** Stop after the current step, save a checkpoint, and return an 'interrupted' summary. */
  stop?: AbortSignal;
  /** Called once the setup is done and the loop starts (before it, a signal has no step to finish). */
  onLoopStart?: () => void;
}

export const runDirOf = (c: Config) => path.resolve(c.run.out_dir, c.run.name);

/**
 * `margin-mse train`: prepares (or reuses) the data cache, builds the BERT_Dot student, and runs the loop
 * into `<run.out_dir>/<run.name>/` with config.yaml (after overrides), command.txt, metrics.jsonl,
 * step-NNNNNNNN/ checkpoints, best/, curves.png and summary.json. With `resume`, the run folder's own config.yaml
 * and latest checkpoint are used, so a resumed run does not depend on today's command line.
 */
export async function train(config: Config, opts: TrainOptions = {}): Promise<TrainSummary> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  // The folder named today (a copied run folder resumes in the copy, whatever its config.yaml says).
  const runDir = runDirOf(config);
  // One process per run folder: two trains in one folder interleave metrics, config and checkpoints.
  const release = await lockCache(runDir, {
    what: 'the run folder',
    failIfHeld: (owner, file) =>
      new ConfigError(
        `${runDir}: the run folder is in use by another train (${owner ? `pid ${owner.pid} on ${owner.host}, since ${owner.since}` : 'a process that is starting'}); wait for it to end, or train into another run.name${owner && owner.host !== os.hostname() ? `; if that job is gone, remove ${file}` : ''}`,
      ),
  });
  try {
    return await trainIn(runDir, config, opts, log);
  } finally {
    await release();
  }
}

async function trainIn(runDir: string, config: Config, opts: TrainOptions, log: (msg: string) => void): Promise<TrainSummary> {
  let checkpointDir: string | null = null;
  if (opts.resume) {
    ({ config, checkpointDir } = await resumeRun(runDir, opts.sets ?? [], log));
  } else {
    const existing = await checkpointDirs(runDir);
    if (existing.length > 0) {
      throw new ConfigError(`${runDir} already holds checkpoints (${existing.map((d) => path.basename(d)).join(', ')}): pass --resume to continue it, or set run.name to start another run`);
    }
  }

  // The inputs first: a missing or bad file is one line before any backend probe, and leaves no run folder.
  const { cacheDir, manifest } = await prepare(config.data, { onProgress: () => {} });
  const terms = lossTerms(config.train.loss);
  if (termsNeed(terms).teacher && !manifest.has_teacher) {
    const needy = terms.filter((x) => LOSSES[x.name].needsTeacher).map((x) => x.key).join(', ');
    throw new ConfigError(`train.loss: ${needy} needs teacher scores, but ${config.data.triples} (${config.data.triples_format}) has none; use ranknet or in-batch, or scored triples or groups`);
  }
  // Before the backend starts, so the memory plan's probes have the device to themselves.
  const t = { ...config.train, accumulation_steps: await resolveAccumulation(config, log, checkpointDir ?? undefined) };
  if (!opts.resume) await writeFileAtomic(path.join(runDir, 'config.yaml'), dumpConfig(config));
  if (opts.command) await fsp.appendFile(path.join(runDir, 'command.txt'), `${opts.command}\n`);
  await initBackend(config.run.backend);

  const ckpt = checkpointDir ? await loadCheckpoint(checkpointDir) : undefined;
  if (ckpt?.state.loop.finished) {
    const { finished, step } = ckpt.state.loop;
    if (finished === 'max_steps' && t.max_steps !== null && t.max_steps > step) {
      ckpt.state.loop.finished = null; // the run ended at its old max_steps: go on to the new one
      log(`--resume: the run finished at max_steps ${step}; continuing to train.max_steps ${t.max_steps}`);
    } else {
      log(`--resume: the run already finished (${finished} at step ${step})${finished === 'max_steps' ? '; raise train.max_steps (--set train.max_steps=N) to train on' : ''}`);
    }
  }
  const model = ckpt
    ? DistilBert.random(ckpt.modelConfig as Partial<DistilBertConfig>, config.run.seed) // weights come from the checkpoint
    : await modelFromConfig(config.model as Record<string, unknown>, config.run.seed);
  model.recompute = t.recompute;
  if (model.config.vocab_size < manifest.vocab_size) {
    throw new ConfigError(`model vocab_size ${model.config.vocab_size} is smaller than the data's vocabulary (${manifest.vocab_size})`);
  }
  const source = await openBatches(
    cacheDir,
    { batchSize: t.batch_size, seed: config.run.seed, shuffleBuffer: config.data.shuffle_buffer, prefetch: config.data.prefetch, epochs: t.max_epochs },
    ckpt?.state.cursor,
  );

  const hooks: TrainHooks = { ...opts.hooks };
  if (t.validation.every > 0 && !hooks.validate) {
    if (hasValidationFiles(t.validation)) {
      const data = await loadValidation(t.validation);
      const tokenizer = await loadTokenizer(resolveVocab(config.data.vocab));
      log(`validation: ${data.run.size} queries, ${data.passages.size} passages, ${t.validation.measure} every ${t.validation.every} steps`);
      hooks.validate = rerankValidator(model, tokenizer, data, t.validation, sequenceLengths(config.data), config.run.inference, log);
    } else {
      log('validation off: set train.validation.queries, qrels, candidates and collection to validate (and keep best/)');
    }
  }

  opts.onLoopStart?.();
  try {
    return await runLoop({
      student: bertDotStudent(model),
      source,
      config: t,
      runDir,
      seed: config.run.seed,
      hooks,
      resume: ckpt,
      // best/ is a complete model folder for eval: the tokenizer's vocabulary beside the weights
      bestFiles: { 'vocab.txt': resolveVocab(config.data.vocab) },
      totalSteps: Math.ceil((manifest.groups.rows * t.max_epochs) / t.batch_size),
      log,
      stop: opts.stop,
    });
  } catch (e) {
    throw explainWasmError(e); // the wasm heap's crash does not say "out of memory"; this does
  } finally {
    await source.close();
    model.dispose();
  }
}

/**
 * The validate hook: re-rank the validation candidates with the student on the engine run.inference picks
 * (on ONNX Runtime, a graph of the current weights built for each validation), return the configured measure.
 * The first validation logs the engine.
 */
export function rerankValidator(
  model: DistilBert,
  tokenizer: Tokenizer,
  data: ValidationData,
  v: ValidationConfig,
  lengths: { queryMaxLength: number; passageMaxLength: number },
  inference: InferenceChoice,
  log: (msg: string) => void,
): () => Promise<number> {
  let first = true;
  return async () => {
    const encoder = await studentEncoder(model, inference);
    if (first) log(`validation inference: ${encoder.engine}`);
    first = false;
    try {
      const run = await rerank(encoder.encode, tokenizer, data.queries, data.passages, data.run, { ...lengths, batchSize: v.batch_size });
      return evaluate(data.qrels, run, { measures: [v.measure], minRel: v.min_rel }).measures[v.measure].all;
    } finally {
      await encoder.dispose();
    }
  };
}

/**
 * `margin-mse train export`: the run's best/ (or, without validation, its latest checkpoint) as a HuggingFace
 * DistilBERT folder with the run's vocabulary. Returns the folder written (default `<run>/export`).
 */
export async function exportRun(runDir: string, out?: string): Promise<string> {
  const saved = path.join(runDir, 'config.yaml');
  const text = await fsp.readFile(saved, 'utf8').catch(() => {
    throw new ConfigError(`${runDir}: not a run folder (no config.yaml)`);
  });
  // Only the data section matters here (the vocabulary): export must not fail on an unrelated section.
  const data = parseConfig(DataConfig, (YAML.parse(text) as { data?: unknown })?.data ?? {}, `${saved} (data)`);
  const best = path.join(runDir, 'best');
  const from = (await fsp.stat(path.join(best, 'model.safetensors')).then(() => true, () => false)) ? best : await latestCheckpoint(runDir);
  if (!from) throw new ConfigError(`${runDir}: no best/ and no complete checkpoint to export`);
  const target = out ?? path.join(runDir, 'export');
  const model = await loadDistilBert(from);
  try {
    await saveDistilBert(model, target, { vocabFile: resolveVocab(data.vocab) });
  } finally {
    model.dispose();
  }
  return target;
}
