import * as tf from '@tensorflow/tfjs-core';
import { padRows } from '../data/collate.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { loadBertCat, type BertCat } from '../models/bert-cat.js';
import { chooseInference, type InferenceChoice } from '../models/engine/inference.js';
import { hostWeights } from '../models/onnx/export.js';
import { OnnxBertCat } from '../models/onnx/inference.js';

/**
 * Scoring `[CLS] query [SEP] passage [SEP]` pairs with BERT_Cat. Pairs are sorted by length and run in
 * chunks that pad only to their own longest pair: MS MARCO pairs vary from ~20 to 256+ tokens, attention
 * costs the square of the padded length, and padding a whole batch to its longest pair wastes most of it.
 */
interface EncodedPair {
  ids: Int32Array;
  typeIds: Int32Array;
}

interface PaddedPairs {
  ids: Int32Array; // [pairs, length]
  typeIds: Int32Array; // [pairs, length]
  mask: Int32Array; // [pairs, length]
  length: number;
}

/** Pads pairs with `padId` to the longest pair (token types with 0). */
function padPairs(pairs: EncodedPair[], padId: number): PaddedPairs {
  const { ids, mask, len } = padRows(pairs.map((e) => e.ids), padId);
  return { ids, typeIds: padRows(pairs.map((e) => e.typeIds), 0, len).ids, mask, length: len };
}

/**
 * What scoring needs of BERT_Cat: scores of padded pair batches as plain arrays, so the engine behind it is
 * the caller's choice: tfjs (tfjsPairScorer) or ONNX Runtime (OnnxBertCat.score).
 * ids, typeIds, mask: int32 [rows, len] row-major → scores [rows].
 */
export type ScoreBatch = (ids: Int32Array, typeIds: Int32Array, mask: Int32Array, rows: number) => Promise<Float32Array>;

/** The tfjs implementation: returns plain numbers (no tensors left behind). */
export function tfjsPairScorer(model: BertCat): ScoreBatch {
  return async (ids, typeIds, mask, rows) => {
    const len = ids.length / rows;
    const scores = tf.tidy(() => model.score(tf.tensor2d(ids, [rows, len], 'int32'), tf.tensor2d(typeIds, [rows, len], 'int32'), tf.tensor2d(mask, [rows, len], 'int32')));
    try {
      return (await scores.data()) as Float32Array; // asynchronous: webgpu cannot read synchronously in Node
    } finally {
      scores.dispose();
    }
  };
}

/** A teacher on the engine a run chose, with the line it prints about it. */
export interface TeacherScorer {
  score: ScoreBatch;
  /** The line a run prints, e.g. "ONNX Runtime 1.30.0, cpu provider, 2 threads (auto: tfjs runs on wasm)". */
  engine: string;
  /** True on ONNX Runtime: the tfjs model is then no longer needed for scoring. */
  onnx: boolean;
  /** Frees what the engine holds (an ONNX Runtime session); the tfjs model stays the caller's. */
  dispose(): Promise<void>;
}

/** The teacher on the engine `choice` picks (initBackend first); onnx builds the graph from its weights in memory (no file). */
export async function teacherScorer(model: BertCat, choice: InferenceChoice): Promise<TeacherScorer> {
  const plan = await chooseInference(choice);
  if (plan.engine === 'tfjs') return { score: tfjsPairScorer(model), engine: `tfjs, ${tf.getBackend()} backend (${plan.why})`, onnx: false, dispose: async () => {} };
  const onnx = await OnnxBertCat.create(model.config, model.form, await hostWeights(model.weights), { encoder: model.encoder });
  return { score: (ids, typeIds, mask, rows) => onnx.score(ids, typeIds, mask, rows), engine: `${onnx.onnx.describe()} (${plan.why})`, onnx: true, dispose: () => onnx.dispose() };
}

/**
 * A teacher folder (models/bert-cat.ts reads it) on the engine `choice` picks, its engine line sent to `log`.
 * On ONNX Runtime the tfjs copy of the weights is freed at once; dispose() frees whatever is left.
 */
export async function loadTeacher(dir: string, choice: InferenceChoice, log?: (line: string) => void): Promise<TeacherScorer> {
  const model = await loadBertCat(dir);
  const scorer = await teacherScorer(model, choice).catch((e: unknown) => {
    model.dispose();
    throw e;
  });
  log?.(`inference: ${scorer.engine}`);
  if (scorer.onnx) model.dispose(); // ONNX Runtime holds its own copy of the weights
  return {
    ...scorer,
    dispose: async () => {
      if (!scorer.onnx) model.dispose();
      await scorer.dispose();
    },
  };
}

export interface PairScoreOptions {
  /** Whole pair length, longest-first truncation. */
  maxLength: number;
  /** Pairs per forward pass after sorting by length; 0 = all pairs in one pass padded to the longest. */
  chunk?: number;
}

/** Tokenizes and scores pairs; scores come back in the order of `pairs`. A BertCat runs through tfjsPairScorer. */
export async function scorePairs(model: ScoreBatch | BertCat, tok: Tokenizer, pairs: [string, string][], opts: PairScoreOptions): Promise<Float32Array> {
  const score = typeof model === 'function' ? model : tfjsPairScorer(model);
  const enc = pairs.map(([q, p]) => tok.encodePair(q, p, opts.maxLength));
  const chunk = opts.chunk && opts.chunk > 0 ? opts.chunk : enc.length;
  const order = enc.map((_, i) => i).sort((a, b) => enc[a].ids.length - enc[b].ids.length);
  const out = new Float32Array(enc.length);
  for (let start = 0; start < order.length; start += chunk) {
    const idx = order.slice(start, start + chunk);
    const p = padPairs(idx.map((i) => enc[i]), tok.padId);
    const s = await score(p.ids, p.typeIds, p.mask, idx.length);
    idx.forEach((i, k) => (out[i] = s[k]));
  }
  return out;
}
