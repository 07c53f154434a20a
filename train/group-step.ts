import * as tf from '@tensorflow/tfjs-core';
import { gradCache, type StepGradients } from './grad-cache.js';
import { microRanges, sliceGroups, type GroupBatch } from './group-batch.js';
import { dotScores, encodeGroups, type GroupEncoder } from './group-encoder.js';
import { GradSum } from './grad-sum.js';
import { termsNeed, weightedLoss, type LossTerm } from './loss-terms.js';

/**
 * The weighted loss of a batch's representations q [B, dim], p [B * G, dim] under BERT_Dot scoring: S from
 * each query's own group, M (only when a term needs it) over the whole batch, T from the batch's teacher scores.
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

/**
 * Loss, per-term values and parameter gradients of one group batch over `micro` micro-batches (the whole
 * batch when 1). With an in-batch term and several micro-batches this is GradCache (the negatives span the
 * whole batch); otherwise each micro-batch's loss is weighted by its share of the queries, so the summed
 * gradients equal those of the whole batch's mean loss (every loss here is a mean over queries with the same
 * group size), with only one micro-batch's activations alive at a time.
 */
export async function groupGradients(encoder: GroupEncoder, terms: readonly LossTerm[], batch: GroupBatch, micro: number): Promise<StepGradients> {
  const ranges = microRanges(batch.size, micro);
  if (ranges.length > 1 && termsNeed(terms).inBatch) return gradCache(encoder, batch, (q, p) => repsLoss(terms, q, p, batch), ranges);
  return accumulate(encoder, terms, batch, ranges);
}

/** Plain gradient accumulation: one backward pass per micro-batch, each loss scaled by its share of the queries. */
export async function accumulate(encoder: GroupEncoder, terms: readonly LossTerm[], batch: GroupBatch, ranges: [number, number][]): Promise<StepGradients> {
  const sum = new GradSum(encoder.params);
  let loss = 0;
  const values: Record<string, number> = {};
  for (const [start, end] of ranges) {
    const mb = ranges.length === 1 ? batch : sliceGroups(batch, start, end);
    const share = mb.size / batch.size;
    let kept: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const { q, p } = encodeGroups(encoder, mb);
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
