import * as tf from '@tensorflow/tfjs-core';
import type { GroupBatch } from '../data/batch.js';
import { dotScores, encodeGroups } from '../models/bert-dot.js';
import { gradCache, type StepGradients } from './grad-cache.js';
import { GradSum } from './grad-sum.js';
import { termsNeed, weightedLoss, type LossTerm } from './loss-terms.js';
import { microRanges, sliceGroups } from './micro-batches.js';
import type { Student } from './student.js';

/**
 * One training step's loss and gradients over a group batch (B queries × G = 1 + K passages; a triple batch
 * is G = 2): encode every query and passage once (models/bert-dot.ts), score, weigh the loss terms
 * (loss-terms.ts), back-propagate. With `micro` > 1 the batch is cut into micro-batches of queries (their
 * groups go with them) so that only one micro-batch's activations are alive at a time:
 * - without an in-batch term, each micro-batch's loss is scaled by its share of the queries and the gradients
 *   summed (every loss is a mean over queries with the same group size, so this is the whole batch's gradient);
 * - with an in-batch term the negatives must span the whole batch: GradCache (grad-cache.ts).
 * Resolves to the weighted loss and each term's value on the host, and gradients by parameter name (the
 * caller disposes them).
 */
export async function stepGradients(student: Student, terms: readonly LossTerm[], batch: GroupBatch, micro: number): Promise<StepGradients> {
  const ranges = microRanges(batch.size, micro);
  if (ranges.length > 1 && termsNeed(terms).inBatch) return gradCache(student, batch, (q, p) => repsLoss(terms, q, p, batch), ranges);
  return accumulate(student, terms, batch, ranges);
}

/**
 * The weighted loss of a batch's representations q [B, dim], p [B * G, dim] under BERT_Dot scoring: S from
 * each query's own group, M (only when a term reads it) over the whole batch, T from the batch's teacher scores.
 */
export function repsLoss(terms: readonly LossTerm[], q: tf.Tensor2D, p: tf.Tensor2D, batch: GroupBatch): ReturnType<typeof weightedLoss> {
  const need = termsNeed(terms);
  if (need.teacher && !batch.hasTeacher) throw new Error(`loss terms ${terms.map((t) => t.key).join(', ')} need teacher scores; this batch has none`);
  return tf.tidy(() => {
    const { S, M } = dotScores(q, p, batch.group, need.inBatch);
    const T = need.teacher ? tf.tensor2d(batch.teacher, [batch.size, batch.group]) : undefined; // [B, G]
    return weightedLoss(terms, { S, T, M });
  });
}

/** Plain gradient accumulation: one backward pass per range of queries, each loss scaled by its share of the queries. */
export async function accumulate(student: Student, terms: readonly LossTerm[], batch: GroupBatch, ranges: [number, number][]): Promise<StepGradients> {
  const sum = new GradSum(student.params);
  let loss = 0;
  const values: Record<string, number> = {};
  for (const [start, end] of ranges) {
    const mb = ranges.length === 1 ? batch : sliceGroups(batch, start, end);
    const share = mb.size / batch.size;
    let kept: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const { q, p } = encodeGroups(student, mb);
      const l = repsLoss(terms, q, p, mb);
      kept = Object.fromEntries(Object.entries(l.terms).map(([k, t]) => [k, tf.keep(t)]));
      return ranges.length === 1 ? l.total : (tf.mul(l.total, share) as tf.Scalar);
    }, sum.vars);
    sum.add(grads);
    loss += (await value.data())[0]; // asynchronous: webgpu cannot read synchronously in Node
    for (const [k, t] of Object.entries(kept)) values[k] = (values[k] ?? 0) + (await t.data())[0] * share;
    tf.dispose([value, ...Object.values(kept)]);
  }
  return { loss, terms: values, grads: sum.result() };
}
