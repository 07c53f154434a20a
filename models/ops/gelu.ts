import * as tf from '@tensorflow/tfjs-core';
import { customOp } from './custom-op.js';

/** f(x), then x disposed: elementwise chains over [rows, hidden] keep two or three temporaries, not all of them. */
function then(x: tf.Tensor, f: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
  const y = f(x);
  x.dispose();
  return y;
}

/** 1 + erf(x/√2), the kernels of the composite GELU. */
function onePlusErf(x: tf.Tensor): tf.Tensor {
  return then(then(tf.mul(x, Math.SQRT1_2), tf.erf), (e) => tf.add(e, 1));
}

/**
 * GELU with erf (torch's default, not the tanh approximation): x/2 (1 + erf(x/√2)), with the kernels and
 * order of the composite it replaced (bit-identical), freeing each temporary once used.
 */
export function geluForward(x: tf.Tensor): tf.Tensor {
  const e1 = onePlusErf(x);
  const y = then(tf.mul(x, 0.5), (half) => tf.mul(half, e1));
  e1.dispose();
  return y;
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * GELU's output and slope from its input alone, sharing one erf: y exactly as geluForward computes it (so a
 * backward that recomputes y gets the forward's values), slope = Φ(x) + x φ(x) with
 * Φ(x) = (1 + erf(x/√2)) / 2 and φ(x) = exp(-x²/2) / √(2π).
 */
export function geluWithSlope(x: tf.Tensor): { y: tf.Tensor; slope: tf.Tensor } {
  const e1 = onePlusErf(x);
  const y = then(tf.mul(x, 0.5), (half) => tf.mul(half, e1));
  const xDensity = then(then(then(then(tf.square(x), (s) => tf.mul(s, -0.5)), tf.exp), (e) => tf.mul(e, INV_SQRT_2PI)), (d) => tf.mul(x, d));
  const slope = then(then(e1, (e) => tf.mul(e, 0.5)), (phi) => tf.add(phi, xDensity));
  xDensity.dispose();
  return { y, slope };
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
