import * as tf from '@tensorflow/tfjs-core';

/** What an op's forward hands back: its output and how to turn the output's gradient into the inputs'. */
export interface OpForward<T extends tf.Tensor> {
  value: T;
  /** One gradient per input, in input order. `saved` holds what the forward passed to `save`. */
  backward: (dy: T, saved: tf.Tensor[]) => tf.Tensor[];
}

/**
 * Runs `forward` as one tf.customGrad op, so the gradient tape holds one node for it: the tensors the forward
 * passes to `save` (shared with the forward's, not copied: Identity shares buffers on every backend) and,
 * during the backward pass, the gradient of its output. Everything else the forward computes is freed when it
 * returns (tfjs runs it in a tidy with the tape off).
 *
 * The backward runs in a tidy, and then frees what was saved: tfjs's engine would keep every saved tensor until
 * the whole backward pass ends, PyTorch frees them as it goes. Safe because tfjs calls each node's gradient
 * once (the engine disposes the saved tensors again at the end, which is a no-op).
 *
 * The op runs inside a tidy named `margin-mse.<name>`: tfjs files a custom op on the tape under the active
 * scope's name and, if a registered kernel gradient has that name, uses it instead of ours. The prefix makes a
 * clash impossible and names the op in tf.profile's kernel list.
 */
export function customOp<T extends tf.Tensor>(name: string, inputs: tf.Tensor[], forward: (save: (tensors: tf.Tensor[]) => void) => OpForward<T>): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const { value, backward } = forward(save);
    const gradFunc = (dy: T, saved: tf.Tensor[]) => {
      const grads = tf.tidy(() => backward(dy, saved));
      tf.dispose(saved);
      return grads;
    };
    return { value, gradFunc };
  });
  return tf.tidy(`margin-mse.${name}`, () => op(...inputs) as T);
}

/** Sums a gradient over every axis but the last (the gradient of a bias broadcast over rows). dy: [..., n] → [n]. */
export function sumRows(dy: tf.Tensor): tf.Tensor1D {
  const n = dy.shape[dy.shape.length - 1];
  return tf.sum(tf.reshape(dy, [-1, n]), 0) as tf.Tensor1D;
}
