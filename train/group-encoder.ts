import * as tf from '@tensorflow/tfjs-core';
import type { GroupBatch } from './group-batch.js';

/**
 * What the group step needs of a bi-encoder student: its trainable parameters by (HuggingFace) name and one
 * encoder for queries and passages (BERT_Dot shares it). Gradients come back under the parameter names.
 * For BERT_Dot over a DistilBERT: `{ params: model.weights, encode: (ids, mask) => model.encode(ids, mask) }`.
 */
export interface GroupEncoder {
  params: Map<string, tf.Variable>;
  /** ids, mask int32 [n, L] → representations [n, dim]. Pure tensor math over `params`: called inside gradient functions. */
  encode(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D;
}

/** The representations of a batch: queries [B, dim] and passages [B * G, dim] (group-major). Call inside tf.tidy or a gradient function. */
export function encodeGroups(encoder: GroupEncoder, batch: GroupBatch): { q: tf.Tensor2D; p: tf.Tensor2D } {
  const rows = (t: GroupBatch['queries'], n: number) =>
    encoder.encode(tf.tensor2d(t.ids, [n, t.len], 'int32'), tf.tensor2d(t.mask, [n, t.len], 'int32'));
  // Queries and passages in separate calls: padding short queries to passage length would multiply their cost.
  return { q: rows(batch.queries, batch.size), p: rows(batch.passages, batch.size * batch.group) };
}

/**
 * BERT_Dot scores from representations q [B, dim] and p [B * G, dim]: S[b, j] = q_b · p_{b·G + j} ([B, G]) and,
 * when `inBatch`, M = q pᵀ ([B, B * G]: every query against every passage of the batch).
 */
export function dotScores(q: tf.Tensor2D, p: tf.Tensor2D, group: number, inBatch: boolean): { S: tf.Tensor2D; M?: tf.Tensor2D } {
  return tf.tidy(() => {
    const [b, dim] = q.shape;
    const S = tf.sum(tf.mul(tf.reshape(q, [b, 1, dim]), tf.reshape(p, [b, group, dim])), 2) as tf.Tensor2D; // [B, G]
    return inBatch ? { S, M: tf.matMul(q, p, false, true) as tf.Tensor2D } : { S }; // M [B, B * G]
  });
}
