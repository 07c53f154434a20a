import * as tf from '@tensorflow/tfjs-core';
import type { GroupBatch } from '../data/batch.js';
import { encodeGroups } from '../models/bert-dot.js';
import { GradSum } from './grad-sum.js';
import { sliceGroups } from './micro-batches.js';
import type { Student } from './student.js';

/** A loss of the whole batch's representations q [B, dim], p [B * G, dim]: the weighted total and each term. */
export type RepsLoss = (q: tf.Tensor2D, p: tf.Tensor2D) => { total: tf.Scalar; terms: Record<string, tf.Scalar> };

/** Loss, its terms (on the host) and the gradients by parameter name (the caller disposes them). */
export interface StepGradients {
  loss: number;
  terms: Record<string, number>;
  grads: Map<string, tf.Tensor>;
}

/**
 * GradCache: Gao et al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup"
 * (RepL4NLP). In-batch negatives couple every query with every passage of the batch, so micro-batches cannot
 * each take their own loss; GradCache still keeps only one micro-batch's activations alive:
 *   1. encode every micro-batch without a tape: representations only (q [B, dim], p [B * G, dim]);
 *   2. the whole batch's loss L(q, p) and its gradient with respect to the representations, dL/dq, dL/dp;
 *   3. per micro-batch, encode again with a tape and back-propagate sum(q · dL/dq) + sum(p · dL/dp) to the
 *      parameters, summing over micro-batches.
 * By the chain rule this equals the gradient of L over the one big batch (up to float rounding), for any loss
 * of the representations. Every query and passage is encoded twice, the price of the memory saving.
 * `ranges` are the micro-batches' query rows [start, end); their groups go with them.
 */
export async function gradCache(student: Student, batch: GroupBatch, loss: RepsLoss, ranges: [number, number][]): Promise<StepGradients> {
  const micro = ranges.map(([s, e]) => sliceGroups(batch, s, e));
  // 1. No gradient scope is active here, so tfjs records no tape and the tidy frees every activation.
  const reps = micro.map((mb) => tf.tidy(() => encodeGroups(student, mb)));
  const q = tf.concat(reps.map((r) => r.q)) as tf.Tensor2D; // [B, dim]
  const p = tf.concat(reps.map((r) => r.p)) as tf.Tensor2D; // [B * G, dim]
  tf.dispose(reps.map((r) => [r.q, r.p]).flat());

  // 2. The whole batch's loss and dL/dq, dL/dp; the terms are kept out of the gradient scope for logging.
  let kept: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.valueAndGrads((qq: tf.Tensor, pp: tf.Tensor) => {
    const l = loss(qq as tf.Tensor2D, pp as tf.Tensor2D);
    kept = Object.fromEntries(Object.entries(l.terms).map(([k, t]) => [k, tf.keep(t)]));
    return l.total;
  })([q, p]);
  const [dq, dp] = grads as [tf.Tensor2D, tf.Tensor2D];
  tf.dispose([q, p]);

  // 3. Per micro-batch, the surrogate sum(reps · dL/dreps) has the parameter gradients of L's share through it.
  const sum = new GradSum(student.params);
  for (const [i, [start, end]] of ranges.entries()) {
    const dqi = tf.slice(dq, [start, 0], [end - start, -1]); // [mb, dim]
    const dpi = tf.slice(dp, [start * batch.group, 0], [(end - start) * batch.group, -1]); // [mb * G, dim]
    const step = tf.variableGrads(() => {
      const r = encodeGroups(student, micro[i]);
      return tf.add(tf.sum(tf.mul(r.q, dqi)), tf.sum(tf.mul(r.p, dpi))) as tf.Scalar;
    }, sum.vars);
    step.value.dispose();
    tf.dispose([dqi, dpi]);
    sum.add(step.grads);
  }
  tf.dispose([dq, dp]);

  const terms: Record<string, number> = {};
  for (const [k, t] of Object.entries(kept)) terms[k] = (await t.data())[0]; // asynchronous: webgpu cannot read synchronously in Node
  const total = (await value.data())[0];
  tf.dispose([value, ...Object.values(kept)]);
  return { loss: total, terms, grads: sum.result() };
}
