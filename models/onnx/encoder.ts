import type { LayerNames } from '../transformer.js';
import type { GraphBuilder } from './graph.js';

/**
 * The post-LN transformer encoder of models/transformer.ts as ONNX nodes, op for op, so ONNX Runtime computes
 * what the tfjs path computes: embeddings (word + position [+ token type], LayerNorm), blocks of multi-head
 * self-attention with the padding mask as an additive bias of -1e9 and queries scaled by 1/√(head dim), an
 * erf-GELU feed-forward network, residual + LayerNorm (eps from the config) after each.
 *
 * Linear weights arrive in torch's [out, in] layout and are stored transposed ([in, out]) under their HF names,
 * so each product is a plain MatMul(x, Wᵀ) on [batch, seq, in] (as PyTorch's own ONNX export does).
 */

/** A weight in host memory: HF shape and values (row-major); must be float32 (Int32Array is refused by name). */
export interface HostTensor {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

/** Weights by HF name (safetensors' RawTensor and `hostWeights` of tfjs tensors both fit). */
export type HostWeights = ReadonlyMap<string, HostTensor>;

export interface EncoderSpec {
  /** Name prefix of the embeddings (`embeddings.` follows it): '' for DistilBERT, 'bert.' or 'bert_model.' for BERT. */
  prefix: string;
  /** Block N's prefix is `${prefix}${layerPrefix}${N}.`: 'transformer.layer.' or 'encoder.layer.'. */
  layerPrefix: string;
  names: LayerNames;
  layers: number;
  dim: number;
  heads: number;
  hidden: number;
  vocab: number;
  maxPositions: number;
  /** BERT's token-type vocabulary; absent for DistilBERT. */
  typeVocab?: number;
  eps: number;
}

/** Looks weights up by name, checking shapes, so a wrong map fails here with the tensor's name. */
export class WeightReader {
  constructor(private readonly weights: HostWeights) {}

  get(name: string, shape: number[]): Float32Array {
    const t = this.weights.get(name);
    if (!t) throw new Error(`ONNX export: missing weight '${name}' [${shape}]`);
    if (t.shape.join(',') !== shape.join(',')) throw new Error(`ONNX export: weight '${name}' has shape [${t.shape}], expected [${shape}]`);
    if (!(t.data instanceof Float32Array)) throw new Error(`ONNX export: weight '${name}' is not float32`);
    return t.data;
  }

  has(name: string): boolean {
    return this.weights.has(name);
  }
}

/** [rows, cols] → [cols, rows], row-major. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) t[c * rows + r] = a[base + c];
  }
  return t;
}

/** Builds nodes on `g` from weights `w`; one instance per graph. */
export class EncoderNodes {
  private readonly half: string;
  private readonly one: string;
  private readonly sqrt2: string;

  constructor(
    private readonly g: GraphBuilder,
    private readonly w: WeightReader,
  ) {
    this.half = g.scalar('half', 0.5);
    this.one = g.scalar('one', 1);
    this.sqrt2 = g.scalar('sqrt2', Math.SQRT2);
  }

  /** x Wᵀ + b for the torch Linear `name` ([out, in]). x: [..., in] → [..., out]. */
  linear(x: string, name: string, out: number, inp: number): string {
    const wt = this.g.float(`${name}.weight`, [inp, out], transpose(this.w.get(`${name}.weight`, [out, inp]), out, inp));
    const b = this.g.float(`${name}.bias`, [out], this.w.get(`${name}.bias`, [out]));
    return this.g.node('Add', [this.g.node('MatMul', [x, wt]), b]);
  }

  /** LayerNorm over the last axis with weights `name`.weight/.bias. x: [..., dim]. */
  layerNorm(x: string, name: string, dim: number, eps: number): string {
    const gamma = this.g.float(`${name}.weight`, [dim], this.w.get(`${name}.weight`, [dim]));
    const beta = this.g.float(`${name}.bias`, [dim], this.w.get(`${name}.bias`, [dim]));
    return this.g.node('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: { float: eps } });
  }

  /**
   * (x/2) (1 + erf(x/√2)). Written as PyTorch exports it (x / √2, not transformer.ts's x · (1/√2), equal within
   * float rounding) because that is the pattern ONNX Runtime fuses into one Gelu kernel (BiasGelu with the
   * Linear's bias before it).
   */
  gelu(x: string): string {
    const g = this.g;
    const erf = g.node('Erf', [g.node('Div', [x, this.sqrt2])]);
    return g.node('Mul', [g.node('Mul', [x, this.half]), g.node('Add', [erf, this.one])]);
  }

  /**
   * The encoder: ids, mask (and typeIds): int64 [batch, seq] graph inputs → the last hidden state
   * [batch, seq, dim] (a value name).
   */
  encoder(s: EncoderSpec, ids: string, mask: string, typeIds?: string): string {
    const g = this.g;
    const { dim, heads } = s;
    const dh = dim / heads;
    const emb = `${s.prefix}embeddings.`;

    // Embeddings: word[ids] + position[0..seq) (+ tokenType[typeIds]) → [b, L, dim], then LayerNorm.
    const word = g.float(`${emb}word_embeddings.weight`, [s.vocab, dim], this.w.get(`${emb}word_embeddings.weight`, [s.vocab, dim]));
    const position = g.float(`${emb}position_embeddings.weight`, [s.maxPositions, dim], this.w.get(`${emb}position_embeddings.weight`, [s.maxPositions, dim]));
    const zero = g.int64('zero', [0]);
    const seqLen = g.node('Shape', [ids], { start: 1, end: 2 }); // [1] = [L]
    const positions = g.node('Slice', [position, zero, seqLen, zero]); // [L, dim]
    let x = g.node('Add', [g.node('Gather', [word, ids]), positions]);
    if (s.typeVocab !== undefined) {
      if (!typeIds) throw new Error('ONNX export: a token-type embedding needs a token_type_ids input');
      const types = g.float(`${emb}token_type_embeddings.weight`, [s.typeVocab, dim], this.w.get(`${emb}token_type_embeddings.weight`, [s.typeVocab, dim]));
      x = g.node('Add', [x, g.node('Gather', [types, typeIds])]);
    }
    x = this.layerNorm(x, `${emb}LayerNorm`, dim, s.eps);

    // The padding mask as an additive bias: (mask - 1) * 1e9, [b, L] → [b, 1, 1, L].
    const maskF = g.node('Cast', [mask], { to: 1 /* FLOAT */ });
    const scaled = g.node('Mul', [g.node('Sub', [maskF, this.one]), g.scalar('mask_scale', 1e9)]);
    const bias = g.node('Unsqueeze', [scaled, g.int64('mask_axes', [1, 2])]);

    const splitHeads = g.int64('split_heads', [0, 0, heads, dh]); // [b, L, dim] → [b, L, heads, dh]
    const mergeHeads = g.int64('merge_heads', [0, 0, dim]);
    const scale = g.scalar('query_scale', 1 / Math.sqrt(dh));
    for (let l = 0; l < s.layers; l++) {
      const p = `${s.prefix}${s.layerPrefix}${l}.`;
      const n = (key: keyof LayerNames) => `${p}${s.names[key]}`;
      const heads4 = (t: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [t, splitHeads])], { perm });
      const q = heads4(g.node('Mul', [this.linear(x, n('query'), dim, dim), scale]), [0, 2, 1, 3]); // [b, heads, L, dh]
      const kT = heads4(this.linear(x, n('key'), dim, dim), [0, 2, 3, 1]); // [b, heads, dh, L]
      const v = heads4(this.linear(x, n('value'), dim, dim), [0, 2, 1, 3]); // [b, heads, L, dh]
      const scores = g.node('Add', [g.node('MatMul', [q, kT]), bias]); // [b, heads, L, L]
      const probs = g.node('Softmax', [scores], { axis: -1 }); // over keys
      const context = g.node('MatMul', [probs, v]); // [b, heads, L, dh]
      const merged = g.node('Reshape', [g.node('Transpose', [context], { perm: [0, 2, 1, 3] }), mergeHeads]); // [b, L, dim]
      const h = this.layerNorm(g.node('Add', [x, this.linear(merged, n('attnOut'), dim, dim)]), n('attnNorm'), dim, s.eps);
      const ffn = this.linear(this.gelu(this.linear(h, n('ffnIn'), s.hidden, dim)), n('ffnOut'), dim, s.hidden); // [b, L, hidden] inside
      x = this.layerNorm(g.node('Add', [h, ffn]), n('outNorm'), dim, s.eps);
    }
    return x;
  }

  /** The [CLS] (first position) vectors. h: [b, L, dim] → [b, dim]. */
  cls(h: string, out?: string): string {
    return this.g.node('Gather', [h, this.g.int64('cls_index', [0], true)], { axis: 1 }, out);
  }
}
