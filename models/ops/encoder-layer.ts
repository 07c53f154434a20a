import * as tf from '@tensorflow/tfjs-core';
import type { LayerWeights } from '../transformer.js';
import { attentionBackward, attentionForward } from './attention.js';
import { customOp } from './custom-op.js';
import { geluForward, geluWithSlope } from './gelu.js';
import { LAYER_NORM_EPS, layerNormBackward, layerNormForward, type LayerNormSaved } from './layer-norm.js';
import { linearBackward, linearForward } from './linear.js';

/**
 * What an encoder block keeps for its backward pass:
 * - `none`: the activations its gradients need (about what PyTorch's autograd keeps, less GELU's output,
 *   which the backward recomputes from GELU's input with the erf it needs anyway);
 * - `layers`: only the block's input; the backward runs the block's forward again (activation checkpointing),
 *   about one more forward pass per step for a fraction of the activation memory.
 */
export const RECOMPUTE_CHOICES = ['none', 'layers'] as const;
export type Recompute = (typeof RECOMPUTE_CHOICES)[number];

/** The block's parameters in the op's input order (after x); `fromList` inverts it. */
const KEYS = ['query', 'key', 'value', 'attnOut', 'attnNorm', 'ffnIn', 'ffnOut', 'outNorm'] as const;
function toList(w: LayerWeights): tf.Tensor[] {
  return KEYS.flatMap((k) => [w[k].weight, w[k].bias]);
}
function fromList(t: tf.Tensor[]): LayerWeights {
  return Object.fromEntries(KEYS.map((k, i) => [k, { weight: t[2 * i], bias: t[2 * i + 1] }])) as unknown as LayerWeights;
}

/** The activations of one block that its backward reads. Shapes for x [b, L, dim], heads H, dh = dim / H. */
interface Activations {
  x: tf.Tensor; // [b, L, dim], the block's input
  qs: tf.Tensor; // [b, H, L, dh], queries scaled by 1/√dh
  k: tf.Tensor; // [b, H, L, dh]
  v: tf.Tensor; // [b, H, L, dh]
  probs: tf.Tensor; // [b, H, L, L]
  merged: tf.Tensor; // [b, L, dim], the heads' context, input of the output projection
  ln1: LayerNormSaved;
  h: tf.Tensor; // [b, L, dim], after attention + residual + LayerNorm
  u: tf.Tensor; // [b, L, hidden], GELU's input
  ln2: LayerNormSaved;
}

function activationList(a: Activations): tf.Tensor[] {
  return [a.x, a.qs, a.k, a.v, a.probs, a.merged, a.ln1.xhat, a.ln1.rstd, a.h, a.u, a.ln2.xhat, a.ln2.rstd];
}
function activationsFrom([x, qs, k, v, probs, merged, xhat1, rstd1, h, u, xhat2, rstd2]: tf.Tensor[]): Activations {
  return { x, qs, k, v, probs, merged, ln1: { xhat: xhat1, rstd: rstd1 }, h, u, ln2: { xhat: xhat2, rstd: rstd2 } };
}

/**
 * One post-LN block, LN(x + Attn(x)) then LN(h + FFN(h)), with the kernels and order of the composite it
 * replaced (outputs bit-identical). Each stage runs in its own tidy, so its temporaries (unscaled queries,
 * scores, pre-bias products, GELU's output, LayerNorm's moments) are freed before the next stage instead of
 * living until the block ends. x: [b, L, dim], bias: [b, 1, 1, L] → y [b, L, dim] and the activations.
 */
function blockForward(x: tf.Tensor, bias: tf.Tensor, w: LayerWeights, nHeads: number): { y: tf.Tensor; acts: Activations } {
  const [b, L, dim] = x.shape;
  const dh = dim / nHeads;
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [b, L, nHeads, dh]), [0, 2, 1, 3]); // [b, L, dim] → [b, H, L, dh]
  const qs = tf.tidy(() => heads(tf.mul(linearForward(x, w.query), 1 / Math.sqrt(dh))));
  const k = tf.tidy(() => heads(linearForward(x, w.key)));
  const v = tf.tidy(() => heads(linearForward(x, w.value)));
  const [probs, merged] = tf.tidy(() => {
    const att = attentionForward(qs, k, v, bias);
    return [att.probs, tf.reshape(tf.transpose(att.context, [0, 2, 1, 3]), [b, L, dim])];
  });
  const r1 = tf.tidy(() => tf.add(x, linearForward(merged, w.attnOut)));
  const ln1 = layerNormForward(r1, w.attnNorm.weight, w.attnNorm.bias, LAYER_NORM_EPS);
  r1.dispose();
  const h = ln1.y;
  const u = tf.tidy(() => linearForward(h, w.ffnIn)); // [b, L, hidden]
  const r2 = tf.tidy(() => tf.add(h, linearForward(geluForward(u), w.ffnOut)));
  const ln2 = layerNormForward(r2, w.outNorm.weight, w.outNorm.bias, LAYER_NORM_EPS);
  r2.dispose();
  return { y: ln2.y, acts: { x, qs, k, v, probs, merged, ln1: { xhat: ln1.xhat, rstd: ln1.rstd }, h, u, ln2: { xhat: ln2.xhat, rstd: ln2.rstd } } };
}

/**
 * dy → [dx, then the parameters' gradients in toList order]. Frees each activation after its last use, so one
 * block's backward holds little beyond its own activations.
 */
function blockBackward(dy: tf.Tensor, a: Activations, w: LayerWeights, nHeads: number): tf.Tensor[] {
  const [b, L, dim] = a.x.shape;
  const dh = dim / nHeads;
  const free = (...t: tf.Tensor[]) => tf.dispose(t);
  const merge = (t: tf.Tensor) => tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [b, L, dim]); // [b, H, L, dh] → [b, L, dim]
  // y = LN(h + FFN(h)), FFN(h) = GELU(h W1ᵀ + b1) W2ᵀ + b2
  const ln2 = layerNormBackward(dy, a.ln2, w.outNorm.weight);
  free(a.ln2.xhat, a.ln2.rstd);
  const { y: act, slope } = geluWithSlope(a.u);
  free(a.u);
  const out = linearBackward(ln2.dx, act, w.ffnOut.weight);
  free(act);
  const du = tf.mul(out.dx, slope);
  free(out.dx, slope);
  const inn = linearBackward(du, a.h, w.ffnIn.weight);
  free(du, a.h);
  const dH = tf.add(ln2.dx, inn.dx);
  free(ln2.dx, inn.dx);
  // h = LN(x + Attn(x))
  const ln1 = layerNormBackward(dH, a.ln1, w.attnNorm.weight);
  free(dH, a.ln1.xhat, a.ln1.rstd);
  const o = linearBackward(ln1.dx, a.merged, w.attnOut.weight);
  free(a.merged);
  const dContext = tf.transpose(tf.reshape(o.dx, [b, L, nHeads, dh]), [0, 2, 1, 3]); // [b, H, L, dh]
  free(o.dx);
  const att = attentionBackward(dContext, a.qs, a.k, a.v, a.probs);
  free(dContext, a.qs, a.k, a.v, a.probs);
  const q = linearBackward(tf.mul(merge(att.dqs), 1 / Math.sqrt(dh)), a.x, w.query.weight);
  const k = linearBackward(merge(att.dk), a.x, w.key.weight);
  const v = linearBackward(merge(att.dv), a.x, w.value.weight);
  const dx = tf.add(tf.add(tf.add(ln1.dx, q.dx), k.dx), v.dx);
  return [dx, q.dW, q.db, k.dW, k.db, v.dW, v.db, o.dW, o.db, ln1.dGamma, ln1.dBeta, inn.dW, inn.db, out.dW, out.db, ln2.dGamma, ln2.dBeta];
}

/**
 * One encoder block as a single op on the gradient tape: the tape then holds one node and one output
 * gradient per block instead of ~60 kernels' saved inputs and every intermediate's gradient.
 * x: [b, L, dim], bias: [b, 1, 1, L] (additiveMask; no gradient) → [b, L, dim].
 */
export function encoderBlock(x: tf.Tensor, bias: tf.Tensor, w: LayerWeights, nHeads: number, recompute: Recompute): tf.Tensor {
  const params = toList(w);
  return customOp('EncoderLayer', [x, ...params], (save) => {
    const { y, acts } = blockForward(x, bias, w, nHeads);
    if (recompute === 'layers') save([x, bias, ...params]);
    else save([...activationList(acts), ...params]);
    return {
      value: y,
      backward: (dy, saved) => {
        if (recompute === 'layers') {
          const [sx, sBias, ...sParams] = saved;
          const pw = fromList(sParams);
          const again = tf.tidy(() => {
            const { y, acts } = blockForward(sx, sBias, pw, nHeads);
            y.dispose();
            return activationList(acts);
          });
          sBias.dispose();
          return blockBackward(dy, activationsFrom(again), pw, nHeads);
        }
        return blockBackward(dy, activationsFrom(saved.slice(0, 12)), fromList(saved.slice(12)), nHeads);
      },
    };
  });
}
