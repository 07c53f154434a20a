import * as tf from '@tensorflow/tfjs-core';
import { customOp, sumRows } from './custom-op.js';

/** torch's and HF's LayerNorm epsilon for BERT and DistilBERT. */
export const LAYER_NORM_EPS = 1e-12;

/** What LayerNorm's backward needs: the normalized input and 1/std per row. */
export interface LayerNormSaved {
  xhat: tf.Tensor; // [..., dim]
  rstd: tf.Tensor; // [..., 1]
}

/**
 * LayerNorm over the last axis with the biased variance, as torch: y = (x - mean) / sqrt(var + eps) * gamma + beta.
 * The same kernels in the same order as the composite it replaced, so outputs are bit-identical to it.
 * x: [..., dim], gamma, beta: [dim].
 */
export function layerNormForward(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): LayerNormSaved & { y: tf.Tensor } {
  const [y, xhat, rstd] = tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true); // [..., 1]
    const r = tf.rsqrt(tf.add(variance, eps)); // [..., 1]
    const xh = tf.mul(tf.sub(x, mean), r); // [..., dim]
    return [tf.add(tf.mul(xh, gamma), beta), xh, r];
  });
  return { y, xhat, rstd };
}

/**
 * Gradients of layerNormForward from its saved tensors: with g = dy * gamma,
 * dx = rstd (g - mean(g) - xhat mean(g xhat)) over the last axis; dgamma = Σ dy xhat, dbeta = Σ dy over rows.
 */
export function layerNormBackward(dy: tf.Tensor, { xhat, rstd }: LayerNormSaved, gamma: tf.Tensor): { dx: tf.Tensor; dGamma: tf.Tensor; dBeta: tf.Tensor } {
  return tf.tidy(() => {
    const g = tf.mul(dy, gamma); // [..., dim]
    const meanG = tf.mean(g, -1, true); // [..., 1]
    const meanGx = tf.mean(tf.mul(g, xhat), -1, true); // [..., 1]
    const dx = tf.mul(tf.sub(tf.sub(g, meanG), tf.mul(xhat, meanGx)), rstd);
    return { dx, dGamma: sumRows(tf.mul(dy, xhat)), dBeta: sumRows(dy) };
  });
}

/** LayerNorm as one op that keeps only xhat and 1/std for its backward. x: [..., dim] → [..., dim]. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = LAYER_NORM_EPS): tf.Tensor {
  return customOp('LayerNorm', [x, gamma, beta], (save) => {
    const { y, xhat, rstd } = layerNormForward(x, gamma, beta, eps);
    save([xhat, rstd, gamma]);
    return {
      value: y,
      backward: (dy, [xh, rs, g]) => {
        const { dx, dGamma, dBeta } = layerNormBackward(dy, { xhat: xh, rstd: rs }, g);
        return [dx, dGamma, dBeta];
      },
    };
  });
}
