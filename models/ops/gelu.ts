import * as tf from '@tensorflow/tfjs-core';
import { customOp } from './custom-op.js';

/** GELU with erf (torch's default, not the tanh approximation): x/2 (1 + erf(x/√2)). */
export function geluForward(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * GELU's output and slope from its input alone, sharing one erf: y as geluForward computes it (bit-identical,
 * so a backward that recomputes y gets the forward's values), slope = Φ(x) + x φ(x) with
 * Φ(x) = (1 + erf(x/√2)) / 2 and φ(x) = exp(-x²/2) / √(2π).
 */
export function geluWithSlope(x: tf.Tensor): { y: tf.Tensor; slope: tf.Tensor } {
  return tf.tidy(() => {
    const onePlusErf = tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1);
    const y = tf.mul(tf.mul(x, 0.5), onePlusErf);
    const density = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), INV_SQRT_2PI);
    return { y, slope: tf.add(tf.mul(onePlusErf, 0.5), tf.mul(x, density)) };
  });
}

/** GELU as one op that keeps only its input for the backward. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return customOp('Gelu', [x], (save) => {
    save([x]);
    return {
      value: geluForward(x),
      backward: (dy, [input]) => [tf.mul(dy, geluWithSlope(input).slope)],
    };
  });
}
