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
 * dContext → dqs, dk, dv. The softmax's backward as dS = P ⊙ (dP - Σ(P ⊙ dP)) over keys, freeing each
 * [b, heads, L, L] temporary once used (at most two beside P); the mask bias has no gradient and is not needed.
 * dContext, qs, k, v: [b, heads, L, dh]; probs: [b, heads, L, L].
 */
export function attentionBackward(dContext: tf.Tensor, qs: tf.Tensor, k: tf.Tensor, v: tf.Tensor, probs: tf.Tensor): { dqs: tf.Tensor; dk: tf.Tensor; dv: tf.Tensor } {
  return tf.tidy(() => {
    const dv = tf.matMul(probs, dContext, true, false); // [b, heads, L, dh]
    const dProbs = tf.matMul(dContext, v, false, true); // [b, heads, L, L]
    const pdp = tf.mul(dProbs, probs);
    const rowSums = tf.sum(pdp, -1, true); // [b, heads, L, 1]
    pdp.dispose();
    const centered = tf.sub(dProbs, rowSums);
    dProbs.dispose();
    const dScores = tf.mul(probs, centered); // [b, heads, L, L]
    centered.dispose();
    return { dqs: tf.matMul(dScores, k), dk: tf.matMul(dScores, qs, true, false), dv };
  });
}
