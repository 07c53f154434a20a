import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../common/rng.js';
import type { Encoder } from './embed.js';

/**
 * A tiny deterministic encoder for eval's tests: a seeded [vocab, dim] embedding table, masked mean
 * pooling. It has the `Encoder` shape of models/distilbert.ts's DistilBert at a fraction of the cost.
 */
export function meanPoolEncoder(vocab: number, dim: number, seed = 1): Encoder & { table: tf.Tensor2D } {
  const table = tf.randomNormal([vocab, dim], 0, 1, 'float32', seed) as tf.Tensor2D;
  return {
    table,
    encode: (ids, mask) =>
      tf.tidy(() => {
        const m = tf.expandDims(tf.cast(mask, 'float32'), 2); // [b, len, 1]
        const e = tf.gather(table, ids); // [b, len, dim]
        return tf.div(tf.sum(tf.mul(e, m), 1), tf.sum(m, 1)) as tf.Tensor2D; // [b, dim]
      }),
  };
}

/** A generated collection: `n` passages of 5-20 words from a small word list, deterministic. */
export function generatedCollection(n: number, seed = 3): { id: string; text: string }[] {
  const words = 'apple river stone music garden engine winter planet paper silver ocean forest coffee window bridge doctor'.split(' ');
  const r = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({ id: `p${i}`, text: Array.from({ length: 5 + r.int(16) }, () => r.pick(words)).join(' ') }));
}
