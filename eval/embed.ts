import * as tf from '@tensorflow/tfjs-core';
import { padRows } from '../data/collate.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { DistilBert } from '../models/distilbert.js';
import { chooseInference, type InferenceChoice } from '../models/engine/inference.js';
import { hostWeights } from '../models/onnx/export.js';
import { OnnxBertDot } from '../models/onnx/inference.js';

/**
 * What eval needs of a BERT_Dot encoder: CLS vectors of padded id batches, as plain arrays, so the engine
 * behind it is the caller's choice: tfjs (tfjsEncoder) or ONNX Runtime (OnnxBertDot.encode).
 * ids, mask: int32 [rows, len] row-major → [rows, dim] row-major.
 */
export type EncodeBatch = (ids: Int32Array, mask: Int32Array, rows: number) => Promise<Float32Array>;

/** A tfjs encoder (models/distilbert.ts's DistilBert, or a test's stand-in): ids, mask [b, len] → [b, dim]. */
export interface TensorEncoder {
  encode(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D;
}

/** Either form; a tfjs encoder is used through tfjsEncoder. */
export type Encoder = EncodeBatch | TensorEncoder;

/** The tfjs implementation: each batch runs inside tf.tidy; only the downloaded Float32Array outlives it. */
export function tfjsEncoder(model: TensorEncoder): EncodeBatch {
  return async (ids, mask, rows) => {
    const len = ids.length / rows;
    const out = tf.tidy(() => model.encode(tf.tensor2d(ids, [rows, len], 'int32'), tf.tensor2d(mask, [rows, len], 'int32')));
    try {
      return (await out.data()) as Float32Array; // [rows, dim]; asynchronous: webgpu cannot read synchronously in Node
    } finally {
      out.dispose();
    }
  };
}

const asBatch = (model: Encoder): EncodeBatch => (typeof model === 'function' ? model : tfjsEncoder(model));

/** An encoder on the engine a run chose, with the line it prints about it. */
export interface StudentEncoder {
  encode: EncodeBatch;
  /** The line a run prints, e.g. "ONNX Runtime 1.30.0, cpu provider, 2 threads (auto: tfjs runs on wasm)". */
  engine: string;
  /** True on ONNX Runtime: the tfjs model is then no longer needed for encoding. */
  onnx: boolean;
  /** Frees what the engine holds (an ONNX Runtime session); the tfjs model stays the caller's. */
  dispose(): Promise<void>;
}

/**
 * The student on the engine `choice` picks (models/engine/inference.ts; initBackend first): tfjs runs the model
 * as it is; onnx builds the graph from its current weights in memory (no file) and runs it on ONNX Runtime, so
 * it also serves a model whose weights change (validation during training builds one per validation).
 */
export async function studentEncoder(model: DistilBert, choice: InferenceChoice): Promise<StudentEncoder> {
  const plan = await chooseInference(choice);
  if (plan.engine === 'tfjs') return { encode: tfjsEncoder(model), engine: `tfjs, ${tf.getBackend()} backend (${plan.why})`, onnx: false, dispose: async () => {} };
  const onnx = await OnnxBertDot.create(model.config, await hostWeights(model.weights));
  return { encode: (ids, mask, rows) => onnx.encode(ids, mask, rows), engine: `${onnx.onnx.describe()} (${plan.why})`, onnx: true, dispose: () => onnx.dispose() };
}

export type TextTokenizer = Pick<Tokenizer, 'encode' | 'padId'>;

/**
 * Embeds `texts` in batches of `batchSize`: `[CLS] text [SEP]` truncated to `maxLength`, padded to the
 * longest in the batch (so short queries do not pay for 200-token padding). Returns [n, dim] row-major.
 */
export async function embedTexts(model: Encoder, tokenizer: TextTokenizer, texts: string[], maxLength: number, batchSize: number): Promise<{ vectors: Float32Array; dim: number }> {
  const encode = asBatch(model);
  let vectors = new Float32Array(0);
  let dim = 0;
  for (let start = 0; start < texts.length; start += batchSize) {
    const { rows, ids, mask } = padRows(texts.slice(start, start + batchSize).map((t) => tokenizer.encode(t, maxLength)), tokenizer.padId); // [b, len]
    const data = await encode(ids, mask, rows); // [b, dim]
    if (dim === 0) {
      dim = data.length / rows;
      vectors = new Float32Array(texts.length * dim);
    }
    vectors.set(data, start * dim);
  }
  return { vectors, dim };
}
