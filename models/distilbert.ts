import * as tf from '@tensorflow/tfjs-core';
import { clsVectors, DISTILBERT_LAYER_NAMES, embed, encoderStack, layerShapes, layerWeights, type EmbeddingWeights, type EncoderOptions, type LayerWeights, type Recompute } from './transformer.js';

/**
 * HF DistilBertConfig, with its config.json field names. Only the size fields shape the network; the others
 * are kept so an exported config.json says what the imported one said.
 */
export interface DistilBertConfig {
  vocab_size: number;
  max_position_embeddings: number;
  dim: number;
  n_layers: number;
  n_heads: number;
  hidden_dim: number;
  activation: 'gelu';
  [field: string]: unknown;
}

/** distilbert-base-uncased's sizes and HF's defaults for the other fields. */
export const DISTILBERT_BASE: DistilBertConfig = {
  vocab_size: 30522,
  max_position_embeddings: 512,
  dim: 768,
  n_layers: 6,
  n_heads: 12,
  hidden_dim: 3072,
  activation: 'gelu',
  sinusoidal_pos_embds: false,
  dropout: 0.1,
  attention_dropout: 0.1,
  initializer_range: 0.02,
  qa_dropout: 0.1,
  seq_classif_dropout: 0.2,
  pad_token_id: 0,
};

/** Every parameter of DistilBertModel: HF name (no `distilbert.` prefix) → shape, in HF's order. */
export function distilbertShapes(c: DistilBertConfig): Map<string, number[]> {
  const s = new Map<string, number[]>([
    ['embeddings.word_embeddings.weight', [c.vocab_size, c.dim]],
    ['embeddings.position_embeddings.weight', [c.max_position_embeddings, c.dim]],
    ['embeddings.LayerNorm.weight', [c.dim]],
    ['embeddings.LayerNorm.bias', [c.dim]],
  ]);
  for (let i = 0; i < c.n_layers; i++) {
    for (const [name, shape] of layerShapes(DISTILBERT_LAYER_NAMES, c.dim, c.hidden_dim)) s.set(`transformer.layer.${i}.${name}`, shape);
  }
  return s;
}

/** Problems with a config's size fields, as messages (empty when usable). */
export function checkConfig(c: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const f of ['vocab_size', 'max_position_embeddings', 'dim', 'n_layers', 'n_heads', 'hidden_dim'] as const) {
    if (!Number.isInteger(c[f]) || (c[f] as number) <= 0) problems.push(`${f} a positive integer (got ${JSON.stringify(c[f])})`);
  }
  if (problems.length === 0 && (c.dim as number) % (c.n_heads as number) !== 0) problems.push(`dim (${c.dim}) divisible by n_heads (${c.n_heads})`);
  if (c.activation !== undefined && c.activation !== 'gelu') problems.push(`activation "gelu" (got ${JSON.stringify(c.activation)})`);
  return problems;
}

/**
 * The BERT_Dot student's encoder: HF DistilBertModel (no dropout: training the student runs without it, as
 * the golden does). Parameters are tfjs variables under their HF names and HF shapes (Linear [out, in]).
 */
export class DistilBert {
  private readonly emb: EmbeddingWeights;
  private readonly layers: LayerWeights[];
  /**
   * What each block keeps for the backward pass when `encode` is not told (models/ops/encoder-layer.ts):
   * 'layers' recomputes each block in its backward, for a fraction of the activation memory.
   */
  recompute: Recompute = 'none';

  /** Takes ownership of `weights` (names and shapes as distilbertShapes; checked by the loaders). */
  constructor(
    readonly config: DistilBertConfig,
    readonly weights: Map<string, tf.Variable>,
  ) {
    const get = (name: string) => {
      const v = weights.get(name);
      if (!v) throw new Error(`DistilBert: missing parameter '${name}'`);
      return v;
    };
    this.emb = {
      word: get('embeddings.word_embeddings.weight'),
      position: get('embeddings.position_embeddings.weight'),
      norm: { weight: get('embeddings.LayerNorm.weight'), bias: get('embeddings.LayerNorm.bias') },
    };
    this.layers = Array.from({ length: config.n_layers }, (_, i) => layerWeights(get, `transformer.layer.${i}.`, DISTILBERT_LAYER_NAMES));
  }

  /**
   * A fresh model with HF's initialization (DistilBertPreTrainedModel._init_weights): Linear and embedding
   * weights normal(0, initializer_range = 0.02), biases 0, LayerNorm 1 and 0, the [PAD] embedding row 0.
   * Deterministic in `seed` on a given backend.
   */
  static random(config: Partial<DistilBertConfig>, seed: number): DistilBert {
    const c = { ...DISTILBERT_BASE, ...config } as DistilBertConfig;
    const problems = checkConfig(c);
    if (problems.length) throw new Error(`DistilBert config: expected ${problems.join('; ')}`);
    const std = typeof c.initializer_range === 'number' ? c.initializer_range : 0.02;
    const pad = typeof c.pad_token_id === 'number' ? c.pad_token_id : 0;
    const weights = new Map<string, tf.Variable>();
    let k = 0;
    for (const [name, shape] of distilbertShapes(c)) {
      const init = tf.tidy(() => {
        if (name.includes('LayerNorm') || name.includes('layer_norm')) return name.endsWith('.weight') ? tf.ones(shape) : tf.zeros(shape);
        if (name.endsWith('.bias')) return tf.zeros(shape);
        // Seeds differ per tensor (seed * 1000 + index), so the sequence of tensors is reproducible.
        const w = tf.randomNormal(shape, 0, std, 'float32', seed * 1000 + k);
        if (name === 'embeddings.word_embeddings.weight' && pad < c.vocab_size) {
          // Rows [0, pad), a zero row (+0, so a saved file holds no -0), rows (pad, vocab).
          return tf.concat([tf.slice(w, [0, 0], [pad, c.dim]), tf.zeros([1, c.dim]), tf.slice(w, [pad + 1, 0], [-1, c.dim])], 0);
        }
        return w;
      });
      k++;
      weights.set(name, tf.variable(init, true));
      init.dispose();
    }
    return new DistilBert(c, weights);
  }

  /**
   * The [CLS] vectors of the last layer. ids, mask: int32 [b, L] (mask 1 = token, 0 = padding) → [b, dim].
   * `opts.recompute` defaults to the model's `recompute`. Pure tensor math: call inside tf.tidy or a gradient function.
   */
  encode(ids: tf.Tensor2D, mask: tf.Tensor2D, opts: EncoderOptions = {}): tf.Tensor2D {
    const recompute = opts.recompute ?? this.recompute;
    return tf.tidy(() => clsVectors(encoderStack(embed(ids, this.emb), mask, this.layers, this.config.n_heads, { recompute })));
  }

  /** The parameters, in HF order (all of them train). */
  trainableVariables(): tf.Variable[] {
    return [...this.weights.values()];
  }

  dispose(): void {
    for (const v of this.weights.values()) v.dispose();
  }
}
