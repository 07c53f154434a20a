import * as tf from '@tensorflow/tfjs-core';
import type { GroupBatch } from '../data/batch.js';

/**
 * BERT_Dot (Hofstätter et al. 2020, §3): one shared encoder for queries and passages, the [CLS] vector of
 * the last layer as the representation, score = q · p. Over a group batch (data/batch.ts): every query and
 * every passage is encoded once, then each query is scored against its own group (S) and, for in-batch
 * negatives, against every passage of the batch (M).
 */
export interface Encoder {
  /** ids, mask int32 [n, L] → representations [n, dim] (DistilBert.encode: the last layer's [CLS] vectors). */
  encode(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D;
}

/**
 * The representations of a batch: queries [B, dim] and passages [B * G, dim] (group-major), in two encoder
 * calls. Queries stay separate: padding 30-token queries to passage length would multiply their cost.
 * Call inside tf.tidy or a gradient function.
 */
export function encodeGroups(encoder: Encoder, batch: GroupBatch): { q: tf.Tensor2D; p: tf.Tensor2D } {
  const call = (t: GroupBatch['queries']) => encoder.encode(tf.tensor2d(t.ids, [t.rows, t.len], 'int32'), tf.tensor2d(t.mask, [t.rows, t.len], 'int32'));
  return { q: call(batch.queries), p: call(batch.passages) };
}

/**
 * Dot-product scores from representations q [B, dim] and p [B * G, dim]: S[b, j] = q_b · p_{b·G + j} ([B, G]:
 * each query against its own group) and, when `inBatch`, M = q pᵀ ([B, B * G]: against every passage of the
 * batch, same column order). Call inside tf.tidy or a gradient function.
 */
export function dotScores(q: tf.Tensor2D, p: tf.Tensor2D, group: number, inBatch: boolean): { S: tf.Tensor2D; M?: tf.Tensor2D } {
  return tf.tidy(() => {
    const [b, dim] = q.shape;
    const S = tf.sum(tf.mul(tf.reshape(q, [b, 1, dim]), tf.reshape(p, [b, group, dim])), 2) as tf.Tensor2D; // [B, G]
    return inBatch ? { S, M: tf.matMul(q, p, false, true) as tf.Tensor2D } : { S }; // M [B, B * G]
  });
}
