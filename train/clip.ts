import * as tf from '@tensorflow/tfjs-core';

/**
 * The global L2 norm of all gradients, sqrt(Σ ||g||²) ([] scalar on the host). A non-finite value means
 * some gradient is NaN or ±Inf, which the trainer checks before any update.
 */
export async function globalNorm(grads: Map<string, tf.Tensor>): Promise<number> {
  // Summed pairwise, not with tf.addN: webgpu's AddN binds one storage buffer per input, and adapters in
  // compatibility mode allow only 8 per shader stage (a 2-layer student has 37 parameters), so AddN there
  // fails validation. Read asynchronously: webgpu cannot read synchronously in Node.
  const total = tf.tidy(() => [...grads.values()].map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b)));
  const [sq] = await total.data();
  total.dispose();
  return Math.sqrt(sq);
}

/**
 * Scales the gradients so their global norm is at most `maxNorm`, like torch.nn.utils.clip_grad_norm_:
 * coef = maxNorm / (norm + 1e-6), applied only when coef < 1, with `norm` = globalNorm(grads) (computed once by
 * the caller, which also checks it is finite). Returns new tensors (the caller disposes the old ones).
 */
export function clipByGlobalNorm(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
  norm: number,
): { grads: Map<string, tf.Tensor>; norm: number; clipped: boolean } {
  const coef = maxNorm / (norm + 1e-6);
  if (!(coef < 1)) return { grads, norm, clipped: false };
  const out = new Map<string, tf.Tensor>();
  for (const [k, g] of grads) out.set(k, tf.mul(g, coef));
  return { grads: out, norm, clipped: true };
}
