import * as tf from '@tensorflow/tfjs-core';

/**
 * Scaled dot-product attention over heads, and its gradients from the softmax probabilities.
 * qs are the queries already scaled by 1/√(head dim) (as DistilBERT scales them before the product).
 * qs, k, v: [b, heads, L, dh]; bias: [b, 1, 1, L], additive (0 or -1e9), broadcast inside the Add kernel.
 */
export function attentionForward(qs: tf.Tensor, k: tf.Tensor, v: tf.Tensor, bias: tf.Tensor): { context: tf.Tensor; probs: tf.Tensor } {
  const probs = tf.softmax(tf.add(tf.matMul(qs, k, false, true), bias)); // [b, heads, L, L], over keys
  return { context: tf.matMul(probs, v), probs }; // [b, heads, L, dh]
}

/**
 * dContext → dqs, dk, dv. The softmax's backward is tfjs's own (dS = P ⊙ dP - P Σ(P ⊙ dP)); the mask bias has no
 * gradient and is not needed. dContext, qs, k, v: [b, heads, L, dh]; probs: [b, heads, L, L].
 */
export function attentionBackward(dContext: tf.Tensor, qs: tf.Tensor, k: tf.Tensor, v: tf.Tensor, probs: tf.Tensor): { dqs: tf.Tensor; dk: tf.Tensor; dv: tf.Tensor } {
  return tf.tidy(() => {
    const dv = tf.matMul(probs, dContext, true, false); // [b, heads, L, dh]
    const dProbs = tf.matMul(dContext, v, false, true); // [b, heads, L, L]
    const pdp = tf.mul(dProbs, probs);
    const dScores = tf.sub(pdp, tf.mul(tf.sum(pdp, -1, true), probs)); // [b, heads, L, L]
    return { dqs: tf.matMul(dScores, k), dk: tf.matMul(dScores, qs, true, false), dv };
  });
}
