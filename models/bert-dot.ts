import * as tf from '@tensorflow/tfjs-core';
import type { TripleBatch } from '../data/batch.js';
import { stackPadded } from '../data/collate.js';
import type { DistilBert } from './distilbert.js';

/**
 * BERT_Dot (Hofstätter et al. 2020, §3): one shared encoder for queries and passages, the [CLS] vector of
 * the last layer as the representation, score = q · p.
 *
 * Two encoder calls per batch: the queries [b, qLen], and the positives and negatives stacked into one
 * [2b, max(pLen, nLen)] call (the shorter side padded with [PAD] and mask 0). Padded keys get exactly zero
 * attention weight, so the padding changes nothing, and one call of 2b rows keeps the products large.
 * Queries stay separate: padding 30-token queries to passage length would multiply their cost.
 * Call inside tf.tidy or a gradient function.
 */
export function bertDotScores(model: DistilBert, batch: TripleBatch): { sPos: tf.Tensor1D; sNeg: tf.Tensor1D } {
  const b = batch.size;
  const pass = stackPadded([
    { rows: b, len: batch.pLen, ids: batch.posIds, mask: batch.posMask },
    { rows: b, len: batch.nLen, ids: batch.negIds, mask: batch.negMask },
  ]); // [2b, L]: positives, then negatives
  return tf.tidy(() => {
    const q = model.encode(tf.tensor2d(batch.qIds, [b, batch.qLen], 'int32'), tf.tensor2d(batch.qMask, [b, batch.qLen], 'int32')); // [b, dim]
    const p = model.encode(tf.tensor2d(pass.ids, [2 * b, pass.len], 'int32'), tf.tensor2d(pass.mask, [2 * b, pass.len], 'int32')); // [2b, dim]
    const [pos, neg] = tf.split(p, 2, 0); // [b, dim] each
    return { sPos: tf.sum(tf.mul(q, pos), 1) as tf.Tensor1D, sNeg: tf.sum(tf.mul(q, neg), 1) as tf.Tensor1D };
  });
}

