import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
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
