import * as tf from '@tensorflow/tfjs-core';
import { clsVectors, embedding } from './ops/embedding.js';
import { encoderBlock, RECOMPUTE_CHOICES, type Recompute } from './ops/encoder-layer.js';
import { gelu } from './ops/gelu.js';
import { LAYER_NORM_EPS, layerNorm as layerNormOp } from './ops/layer-norm.js';
import { linearForward, type LinearWeights } from './ops/linear.js';

/**
 * The post-LN transformer encoder shared by the DistilBERT student (models/distilbert.ts) and the BERT
 * cross-encoder teacher (models/bert-cat.ts): embeddings (word + position [+ token type], then LayerNorm),
 * blocks of multi-head self-attention with an additive padding mask and an erf-GELU feed-forward network,
 * each followed by residual + LayerNorm (eps 1e-12), as HF's DistilBertModel and BertModel compute them.
 *
 * Functions take plain weight structs, so each model keeps its own HF names (see LAYER_NAMES) and its own
 * variables. Linear weights stay in torch's [out, in] layout, the layout on disk: import and export copy
 * bytes, the `weights` map and optimizer state use HF shapes, and products use matMul(x, W, false, true).
 * On wasm, ENGINE's BatchMatMul materializes that transpose once per product ([out, in] is small beside the
 * activations) and runs XNNPACK's fast 2-D path; the backward products are transposed either way.
 * All functions are pure tensor math: call them inside tf.tidy or a gradient function.
 */

export type { LinearWeights };

export interface LayerNormWeights {
  weight: tf.Tensor; // [dim] (gamma)
  bias: tf.Tensor; // [dim] (beta)
}

/** One encoder block. DistilBERT and BERT differ only in the names (LAYER_NAMES). */
export interface LayerWeights {
  query: LinearWeights; // [dim, dim]
  key: LinearWeights; // [dim, dim]
  value: LinearWeights; // [dim, dim]
  attnOut: LinearWeights; // [dim, dim]
  attnNorm: LayerNormWeights; // after attention + residual
  ffnIn: LinearWeights; // [hidden, dim]
  ffnOut: LinearWeights; // [dim, hidden]
  outNorm: LayerNormWeights; // after FFN + residual
}

export interface EmbeddingWeights {
  word: tf.Tensor; // [vocab, dim]
  position: tf.Tensor; // [maxPositions, dim]
  /** BERT only (DistilBERT has no token types). */
  tokenType?: tf.Tensor; // [typeVocab, dim]
  norm: LayerNormWeights;
}

/** HF parameter names of one block, relative to the block's prefix, without `.weight` / `.bias`. */
export type LayerNames = Record<keyof LayerWeights, string>;

/** DistilBERT: `transformer.layer.N.` + these. */
export const DISTILBERT_LAYER_NAMES: LayerNames = {
  query: 'attention.q_lin',
  key: 'attention.k_lin',
  value: 'attention.v_lin',
  attnOut: 'attention.out_lin',
  attnNorm: 'sa_layer_norm',
  ffnIn: 'ffn.lin1',
  ffnOut: 'ffn.lin2',
  outNorm: 'output_layer_norm',
};

/** BERT: `encoder.layer.N.` + these. */
export const BERT_LAYER_NAMES: LayerNames = {
  query: 'attention.self.query',
  key: 'attention.self.key',
  value: 'attention.self.value',
  attnOut: 'attention.output.dense',
  attnNorm: 'attention.output.LayerNorm',
  ffnIn: 'intermediate.dense',
  ffnOut: 'output.dense',
  outNorm: 'output.LayerNorm',
};

/** Builds a block's struct from a lookup of full HF names (e.g. `get = (n) => weights.get(n)!`). */
export function layerWeights(get: (name: string) => tf.Tensor, prefix: string, names: LayerNames): LayerWeights {
  const pair = (key: keyof LayerWeights) => ({ weight: get(`${prefix}${names[key]}.weight`), bias: get(`${prefix}${names[key]}.bias`) });
  return {
    query: pair('query'),
    key: pair('key'),
    value: pair('value'),
    attnOut: pair('attnOut'),
    attnNorm: pair('attnNorm'),
    ffnIn: pair('ffnIn'),
    ffnOut: pair('ffnOut'),
    outNorm: pair('outNorm'),
  };
}

/**
 * The parameter shapes of one block, names relative to the block's prefix (`<HF name>.weight`, `.bias`), in
 * LayerWeights order. Linear weights are [out, in]; LayerNorm weights and all biases are vectors.
 */
export function layerShapes(names: LayerNames, dim: number, hidden: number): [string, number[]][] {
  // [out, in]; in = 0 marks a LayerNorm
  const sizes: Record<keyof LayerWeights, [number, number]> = {
    query: [dim, dim],
    key: [dim, dim],
    value: [dim, dim],
    attnOut: [dim, dim],
    attnNorm: [dim, 0],
    ffnIn: [hidden, dim],
    ffnOut: [dim, hidden],
    outNorm: [dim, 0],
  };
  return (Object.keys(sizes) as (keyof LayerWeights)[]).flatMap((key): [string, number[]][] => {
    const [out, inp] = sizes[key];
    return [[`${names[key]}.weight`, inp ? [out, inp] : [out]], [`${names[key]}.bias`, [out]]];
  });
}

/** x Wᵀ + b over the last axis. x: [..., in] → [..., out]. */
export const linear = linearForward;

/** LayerNorm over the last axis with the biased variance, as torch (one op; see models/ops/layer-norm.ts). x: [..., dim]. */
export function layerNorm(x: tf.Tensor, w: LayerNormWeights, eps = LAYER_NORM_EPS): tf.Tensor {
  return layerNormOp(x, w.weight, w.bias, eps);
}

/**
 * The padding mask as an additive bias on attention scores: 0 where mask = 1, -1e9 where 0, so padded keys
 * get exactly zero weight after softmax (as HF's masked_fill with the dtype minimum does).
 * mask: int32 [b, L] → float32 [b, 1, 1, L] (broadcast over heads and query positions).
 */
export function additiveMask(mask: tf.Tensor): tf.Tensor {
  const [b, L] = mask.shape;
  return tf.reshape(tf.mul(tf.sub(tf.cast(mask, 'float32'), 1), 1e9), [b, 1, 1, L]);
}

/**
 * Embeddings: word[ids] + position[0..L) (+ tokenType[typeIds]), then LayerNorm, as one op whose gradient
 * reaches the word embedding rows that were used through one scatter-add (models/ops/embedding.ts).
 * ids, typeIds: int32 [b, L] → [b, L, dim].
 */
export function embed(ids: tf.Tensor, w: EmbeddingWeights, typeIds?: tf.Tensor): tf.Tensor {
  return embedding(ids, w, typeIds);
}

export interface EncoderOptions {
  /** What each block keeps for the backward pass (models/ops/encoder-layer.ts); default 'none'. */
  recompute?: Recompute;
}

/**
 * The stack of blocks, each one op on the gradient tape (models/ops/encoder-layer.ts): post-LN, LN(x + Attn(x))
 * then LN(h + FFN(h)), multi-head self-attention with the additive padding mask, erf-GELU FFN.
 * x: [b, L, dim] embeddings, mask: int32 [b, L] → last hidden state [b, L, dim].
 */
export function encoderStack(x: tf.Tensor, mask: tf.Tensor, layers: readonly LayerWeights[], nHeads: number, opts: EncoderOptions = {}): tf.Tensor {
  const bias = additiveMask(mask);
  let h = x;
  for (const w of layers) h = encoderBlock(h, bias, w, nHeads, opts.recompute ?? 'none');
  return h;
}

export { clsVectors, gelu, LAYER_NORM_EPS, RECOMPUTE_CHOICES, type Recompute };
