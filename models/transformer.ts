import * as tf from '@tensorflow/tfjs-core';

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

/** A torch Linear: y = x Wᵀ + b. */
export interface LinearWeights {
  weight: tf.Tensor; // [out, in]
  bias: tf.Tensor; // [out]
}

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

export const LAYER_NORM_EPS = 1e-12;

/** x Wᵀ + b over the last axis. x: [..., in] → [..., out]. */
export function linear(x: tf.Tensor, w: LinearWeights): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1];
  const outDim = w.weight.shape[0];
  const x2 = tf.reshape(x, [-1, inDim]); // [rows, in]
  const y = tf.add(tf.matMul(x2, w.weight, false, true), w.bias); // [rows, out]
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

/** LayerNorm over the last axis with the biased variance, as torch. x: [..., dim]. */
export function layerNorm(x: tf.Tensor, w: LayerNormWeights, eps = LAYER_NORM_EPS): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true); // [..., 1]
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), w.weight), w.bias);
}

/** GELU with erf (torch's default `gelu`, not the tanh approximation): x/2 (1 + erf(x/√2)). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
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
 * Embeddings: word[ids] + position[0..L) (+ tokenType[typeIds]), then LayerNorm. A gather, so the gradient
 * reaches the word embedding rows that were used (tfjs: UnsortedSegmentSum, ENGINE's scatter-add kernel).
 * ids, typeIds: int32 [b, L] → [b, L, dim].
 */
export function embed(ids: tf.Tensor, w: EmbeddingWeights, typeIds?: tf.Tensor): tf.Tensor {
  const [b, L] = ids.shape;
  const dim = w.word.shape[1]!;
  if (L > w.position.shape[0]) throw new Error(`sequence length ${L} exceeds max_position_embeddings ${w.position.shape[0]}`);
  const words = tf.reshape(tf.gather(w.word, tf.reshape(ids, [-1])), [b, L, dim]); // [b, L, dim]
  let x = tf.add(words, tf.slice(w.position, [0, 0], [L, dim])); // + [L, dim], broadcast over b
  if (w.tokenType) {
    const types = tf.reshape(tf.gather(w.tokenType, tf.reshape(typeIds ?? tf.zerosLike(ids), [-1])), [b, L, dim]);
    x = tf.add(x, types);
  }
  return layerNorm(x, w.norm);
}

/**
 * Multi-head self-attention. x: [b, L, dim], bias: [b, 1, 1, L] from additiveMask → [b, L, dim]
 * (before the residual). Queries are scaled by 1/√(head dim) before the product, as DistilBERT does.
 */
function selfAttention(x: tf.Tensor, bias: tf.Tensor, w: LayerWeights, nHeads: number): tf.Tensor {
  const [b, L, dim] = x.shape;
  const dh = dim / nHeads;
  // [b, L, dim] → [b, heads, L, dh]
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [b, L, nHeads, dh]), [0, 2, 1, 3]);
  const q = heads(tf.mul(linear(x, w.query), 1 / Math.sqrt(dh)));
  const k = heads(linear(x, w.key));
  const v = heads(linear(x, w.value));
  const scores = tf.add(tf.matMul(q, k, false, true), bias); // [b, heads, L, L]
  const probs = tf.softmax(scores); // over keys (last axis)
  const context = tf.matMul(probs, v); // [b, heads, L, dh]
  const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [b, L, dim]);
  return linear(merged, w.attnOut);
}

/** One post-LN block: LN(x + Attn(x)), then LN(h + FFN(h)). x: [b, L, dim] → [b, L, dim]. */
function encoderLayer(x: tf.Tensor, bias: tf.Tensor, w: LayerWeights, nHeads: number): tf.Tensor {
  const h = layerNorm(tf.add(x, selfAttention(x, bias, w, nHeads)), w.attnNorm);
  const ffn = linear(gelu(linear(h, w.ffnIn)), w.ffnOut); // [b, L, hidden] inside
  return layerNorm(tf.add(h, ffn), w.outNorm);
}

/** The stack of blocks. x: [b, L, dim] embeddings, mask: int32 [b, L] → last hidden state [b, L, dim]. */
export function encoderStack(x: tf.Tensor, mask: tf.Tensor, layers: readonly LayerWeights[], nHeads: number): tf.Tensor {
  const bias = additiveMask(mask);
  let h = x;
  for (const w of layers) h = encoderLayer(h, bias, w, nHeads);
  return h;
}

/** The [CLS] (first position) vectors. h: [b, L, dim] → [b, dim]. */
export function clsVectors(h: tf.Tensor): tf.Tensor2D {
  const [b, , dim] = h.shape;
  return tf.reshape(tf.slice(h, [0, 0, 0], [b, 1, dim]), [b, dim]) as tf.Tensor2D;
}
