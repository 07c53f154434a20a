import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { GroupBatch } from '../../data/batch.js';
import { collateGroups } from '../../data/collate.js';
import { Adam } from '../../train/adam.js';
import { lossTerms } from '../../train/loss-terms.js';
import { stepGradients } from '../../train/step.js';
import { bertDotStudent } from '../../train/bert-dot-student.js';
import { DistilBert } from '../distilbert.js';
import { initBackend } from './backend.js';

/**
 * A small graph that uses every replaced kernel the way the student does: an embedding lookup (gradient:
 * UnsortedSegmentSum), batched attention products with transposes (BatchMatMul), a shared dense layer,
 * trained with Adam. numTensors and (on wasm) the backend's bytes must stay flat over 100 steps.
 */
function tinyStep(vars: { emb: tf.Variable; w: tf.Variable }, opt: tf.Optimizer, ids: tf.Tensor2D): number {
  return tf.tidy(() => {
    const cost = opt.minimize(() => {
      const [b, l] = ids.shape;
      const x = tf.reshape(tf.gather(vars.emb, tf.reshape(ids, [-1])), [b, l, 8]); // [b, l, 8]
      const h = tf.reshape(tf.matMul(tf.reshape(x, [b * l, 8]), vars.w), [b, l, 8]); // [b, l, 8]
      const att = tf.softmax(tf.matMul(h, x, false, true)); // [b, l, l]
      const y = tf.matMul(att, h); // [b, l, 8]
      return tf.mean(tf.square(tf.sub(tf.sum(y, [1, 2]), 1)));
    }, true, [vars.emb, vars.w]);
    return cost!.dataSync()[0];
  });
}

describe('no tensor leaks over 100 training steps', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(backend, async () => {
      await initBackend(backend, { quiet: true });
      const vars = { emb: tf.variable(tf.randomNormal([50, 8], 0, 0.1, 'float32', 1)), w: tf.variable(tf.randomNormal([8, 8], 0, 0.3, 'float32', 2)) };
      const opt = tf.train.adam(1e-2);
      const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6], [7, 8, 9, 1, 2, 49]], undefined, 'int32') as tf.Tensor2D;
      const first = tinyStep(vars, opt, ids); // Adam creates its moment variables on the first step
      const tensors = tf.memory().numTensors;
      const bytes = tf.memory().numBytes;
      let last = first;
      for (let i = 0; i < 100; i++) last = tinyStep(vars, opt, ids);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.memory().numBytes).toBe(bytes);
      expect(last).toBeLessThan(first); // it trains: the gradients reach the variables
      opt.dispose();
      tf.dispose([vars.emb, vars.w, ids]);
    });
  }
});

describe('no tensor leaks over Margin-MSE steps of a small DistilBERT student', () => {
  // 100 steps on wasm, the backend that trains here; 20 on cpu, which is slower and shares no kernels with it.
  for (const [backend, steps] of [['wasm', 100], ['cpu', 20]] as const) {
    it(`${backend}, ${steps} steps`, async () => {
      await initBackend(backend, { quiet: true });
      const model = DistilBert.random({ vocab_size: 500, dim: 16, n_layers: 2, n_heads: 2, hidden_dim: 32 }, 3);
      const adam = new Adam(model.weights);
      const student = bertDotStudent(model);
      const batch = smallBatch();
      // The trainer's own step (train/step.ts), without the loop's checkpoints and logging.
      const step = async () => {
        const { loss, grads } = await stepGradients(student, lossTerms('margin-mse'), batch, 1);
        adam.apply(grads, 1e-3);
        tf.dispose([...grads.values()]);
        return loss;
      };
      const first = await step();
      const tensors = tf.memory().numTensors;
      const bytes = tf.memory().numBytes;
      let last = first;
      for (let i = 0; i < steps; i++) last = await step();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.memory().numBytes).toBe(bytes);
      expect(last).toBeLessThan(first);
      adam.dispose();
      model.dispose();
    });
  }
});

/** Two triples: queries of 5 tokens, passages of 9 with padding in the negatives. */
function smallBatch(): GroupBatch {
  const ids = (n: number, seed: number) => Int32Array.from({ length: n }, (_, i) => 1 + ((i * 37 + seed * 11) % 499));
  const negMask = Int32Array.from({ length: 18 }, (_, i) => (i % 9 < 6 ? 1 : 0));
  const full = (n: number) => new Int32Array(n).fill(1);
  return collateGroups(
    { rows: 2, len: 5, ids: ids(10, 1), mask: full(10) },
    [
      { rows: 2, len: 9, ids: ids(18, 2), mask: full(18) },
      { rows: 2, len: 9, ids: ids(18, 3).map((v, i) => (negMask[i] ? v : 0)), mask: negMask },
    ],
    [[3, 1], [-1, 2]],
  );
}
