import * as tf from '@tensorflow/tfjs-core';

/**
 * Test helpers (no test runs here): a tiny stand-in for DistilBERT's `encode` (ids, mask [b, len] →
 * [b, dim]) at a fraction of the cost, for eval's and train's tests.
 */

/** The masked mean of the token rows of `table`: ids, mask [b, len] → [b, dim]. Differentiable in `table`. */
export function meanPool(table: tf.Tensor2D, ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, l] = ids.shape;
    const m = tf.cast(tf.reshape(mask, [b, l, 1]), 'float32'); // [b, l, 1]
    const x = tf.reshape(tf.gather(table, tf.reshape(ids, [-1])), [b, l, -1]); // [b, l, dim]
    return tf.div(tf.sum(tf.mul(x, m), 1), tf.sum(m, 1)) as tf.Tensor2D; // [b, dim]
  });
}

/** A deterministic encoder: a seeded [vocab, dim] embedding table and masked mean pooling. */
export function meanPoolEncoder(vocab: number, dim: number, seed = 1): { table: tf.Tensor2D; encode(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D } {
  const table = tf.randomNormal([vocab, dim], 0, 1, 'float32', seed) as tf.Tensor2D;
  return { table, encode: (ids, mask) => meanPool(table, ids, mask) };
}
