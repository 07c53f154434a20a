import * as tf from '@tensorflow/tfjs-core';
import { sumRows } from './custom-op.js';

/** A torch Linear: y = x Wᵀ + b. */
export interface LinearWeights {
  weight: tf.Tensor; // [out, in]
  bias: tf.Tensor; // [out]
}

/** x Wᵀ + b over the last axis. x: [..., in] → [..., out]. */
export function linearForward(x: tf.Tensor, w: LinearWeights): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1];
  const outDim = w.weight.shape[0];
  const x2 = tf.reshape(x, [-1, inDim]); // [rows, in]
  const y = tf.add(tf.matMul(x2, w.weight, false, true), w.bias); // [rows, out]
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

/**
 * Gradients of linearForward from its input: dx = dy W, dW = dyᵀ x ([out, in], torch's layout), db = Σ dy.
 * dy: [..., out], x: [..., in].
 */
export function linearBackward(dy: tf.Tensor, x: tf.Tensor, weight: tf.Tensor): { dx: tf.Tensor; dW: tf.Tensor; db: tf.Tensor } {
  return tf.tidy(() => {
    const [outDim, inDim] = weight.shape;
    const dy2 = tf.reshape(dy, [-1, outDim]); // [rows, out]
    const dx = tf.reshape(tf.matMul(dy2, weight), x.shape); // [..., in]
    const dW = tf.matMul(dy2, tf.reshape(x, [-1, inDim]), true, false); // [out, in]
    return { dx, dW, db: sumRows(dy2) };
  });
}
