import * as tf from '@tensorflow/tfjs-core';
import { padRows } from '../data/collate.js';
import type { Tokenizer } from '../data/tokenizer.js';

/**
 * What eval needs of a BERT_Dot encoder: CLS vectors for padded id batches. models/distilbert.ts's
 * `DistilBert` has this shape; eval depends on the shape only, so its tests can use any small encoder.
 */
export interface Encoder {
  /** ids, mask: int32 [batch, len] → [batch, dim]. */
  encode(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D;
}

export type TextTokenizer = Pick<Tokenizer, 'encode' | 'padId'>;

/**
 * Embeds `texts` in batches of `batchSize`: `[CLS] text [SEP]` truncated to `maxLength`, padded to the
 * longest in the batch (so short queries do not pay for 200-token padding). Returns [n, dim] row-major.
 * Each batch runs inside tf.tidy; only the downloaded Float32Array outlives it.
 */
export async function embedTexts(model: Encoder, tokenizer: TextTokenizer, texts: string[], maxLength: number, batchSize: number): Promise<{ vectors: Float32Array; dim: number }> {
  let vectors = new Float32Array(0);
  let dim = 0;
  for (let start = 0; start < texts.length; start += batchSize) {
    const { rows, len, ids, mask } = padRows(texts.slice(start, start + batchSize).map((t) => tokenizer.encode(t, maxLength)), tokenizer.padId); // [b, len]
    const out = tf.tidy(() => model.encode(tf.tensor2d(ids, [rows, len], 'int32'), tf.tensor2d(mask, [rows, len], 'int32')));
    const data = (await out.data()) as Float32Array; // [b, dim]; asynchronous: webgpu cannot read synchronously in Node
    out.dispose();
    if (dim === 0) {
      dim = data.length / rows;
      vectors = new Float32Array(texts.length * dim);
    }
    vectors.set(data, start * dim);
  }
  return { vectors, dim };
}
