import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { InputError } from '../common/errors.js';
import { readModelWeights, type ModelWeights } from './weights/folder.js';
import type { RawTensor } from './weights/safetensors.js';
import {
  BERT_LAYER_NAMES,
  DISTILBERT_LAYER_NAMES,
  LAYER_NORM_EPS,
  clsVectors,
  embed,
  encoderStack,
  layerShapes,
  layerWeights,
  linear,
  type EmbeddingWeights,
  type LayerNames,
  type LayerWeights,
  type LinearWeights,
} from './transformer.js';

/**
 * BERT_Cat: the cross-encoder teacher of Margin-MSE (Hofstätter et al. 2020). A BERT encoder with
 * token-type embeddings reads `[CLS] query [SEP] passage [SEP]` (types 0 then 1) and a linear layer turns
 * the [CLS] representation into one relevance score. The encoder math is models/transformer.ts, shared
 * with the DistilBERT student. Inference only: weights are plain tensors, not variables.
 *
 * Two checkpoint forms (config.json + model.safetensors, else pytorch_model.bin):
 * - `hf`: HF BertForSequenceClassification, num_labels 1 (the public MS MARCO cross-encoders):
 *   `bert.embeddings.*`, `bert.encoder.layer.N.*`, `bert.pooler.dense.*`, `classifier.*`;
 *   score = classifier(tanh(pooler(CLS))).
 * - `matchmaker`: matchmaker's BERT_Cat (github.com/sebastian-hofstaetter/matchmaker, models/bert_cat.py):
 *   `bert_model.*` (an AutoModel) and `_classification_layer.*`. It scores the AutoModel's pooled output for
 *   BERT (`_, vectors = bert_model(...)`), so a checkpoint with `bert_model.pooler.*` gets the pooler, and one
 *   without (saved from an encoder without a pooler) gets the linear layer on the raw CLS vector.
 *   Its `bert_model` may also be a DistilBERT (`bert_model.embeddings.*` without token types,
 *   `bert_model.transformer.layer.N.*`): matchmaker then scores the linear layer on the CLS vector of the
 *   last hidden state (`bert_model(**tokens)[0][:,0,:]`; DistilBERT has no pooler and no token types).
 */
export type BertCatForm = 'hf' | 'matchmaker';

/** The encoder inside: BERT, or DistilBERT (matchmaker form only). */
export type BertCatEncoder = 'bert' | 'distilbert';

/**
 * HF BertConfig fields we use, also for a DistilBERT encoder (its config names are translated: dim →
 * hidden_size, n_layers, n_heads, hidden_dim → intermediate_size, activation → hidden_act; type_vocab_size 0:
 * no token types). matchmaker's own config.json lacks them: they are then read off the weights.
 */
export const BertCatConfig = z.object({
  vocab_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  hidden_act: z.literal('gelu').default('gelu'),
  max_position_embeddings: z.number().int().positive(),
  /** 0 for a DistilBERT encoder, which has no token-type embeddings. */
  type_vocab_size: z.number().int().nonnegative().default(2),
  layer_norm_eps: z.number().default(LAYER_NORM_EPS),
  num_labels: z.literal(1).default(1),
});
export type BertCatConfig = z.output<typeof BertCatConfig>;

const FORMS: Record<BertCatForm, { prefix: string; head: string }> = {
  hf: { prefix: 'bert.', head: 'classifier' },
  matchmaker: { prefix: 'bert_model.', head: '_classification_layer' },
};

/** Where an encoder keeps its blocks (after the form's prefix) and their names. */
const ENCODERS: Record<BertCatEncoder, { layers: string; names: LayerNames }> = {
  bert: { layers: 'encoder.layer.', names: BERT_LAYER_NAMES },
  distilbert: { layers: 'transformer.layer.', names: DISTILBERT_LAYER_NAMES },
};

export class BertCat {
  private constructor(
    readonly config: BertCatConfig,
    readonly form: BertCatForm,
    readonly encoder: BertCatEncoder,
    /** All tensors by their checkpoint name. */
    readonly weights: Map<string, tf.Tensor>,
    private readonly embeddings: EmbeddingWeights,
    private readonly layers: LayerWeights[],
    /** dense + tanh on [CLS] before the head, or none (head on the raw CLS vector). */
    private readonly pooler: LinearWeights | null,
    private readonly head: LinearWeights, // [1, dim]
  ) {}

  /** Builds the model from checkpoint tensors (taking ownership of them). */
  static fromWeights(config: BertCatConfig, form: BertCatForm, weights: Map<string, tf.Tensor>, encoder: BertCatEncoder = 'bert'): BertCat {
    const { prefix, head } = FORMS[form];
    const { layers: blocks, names } = ENCODERS[encoder];
    const get = (name: string) => weights.get(name) as tf.Tensor;
    const pair = (p: string): LinearWeights => ({ weight: get(`${p}.weight`), bias: get(`${p}.bias`) });
    const embeddings: EmbeddingWeights = {
      word: get(`${prefix}embeddings.word_embeddings.weight`),
      position: get(`${prefix}embeddings.position_embeddings.weight`),
      tokenType: encoder === 'bert' ? get(`${prefix}embeddings.token_type_embeddings.weight`) : undefined,
      norm: pair(`${prefix}embeddings.LayerNorm`),
    };
    const layers = Array.from({ length: config.num_hidden_layers }, (_, l) => layerWeights(get, `${prefix}${blocks}${l}.`, names));
    const pooler = weights.has(`${prefix}pooler.dense.weight`) ? pair(`${prefix}pooler.dense`) : null;
    return new BertCat(config, form, encoder, weights, embeddings, layers, pooler, pair(head));
  }

  /**
   * The last layer's [CLS] vectors (before any pooler) and the scores, from one pass. A DistilBERT encoder
   * ignores typeIds. ids, typeIds, mask: int32 [b, L] → cls [b, dim], scores [b].
   */
  forward(ids: tf.Tensor2D, typeIds: tf.Tensor2D, mask: tf.Tensor2D): { cls: tf.Tensor2D; scores: tf.Tensor1D } {
    const [cls, scores] = tf.tidy(() => {
      const x = embed(ids, this.embeddings, typeIds); // [b, L, dim]
      const h = encoderStack(x, mask, this.layers, this.config.num_attention_heads); // [b, L, dim]
      const c = clsVectors(h); // [b, dim]
      const rep = this.pooler ? tf.tanh(linear(c, this.pooler)) : c; // [b, dim]
      return [c, tf.reshape(linear(rep, this.head), [-1]) as tf.Tensor1D]; // [b, 1] → [b]
    });
    return { cls, scores };
  }

  /** One relevance score per `[CLS] q [SEP] p [SEP]` row. ids, typeIds, mask: int32 [b, L] → [b]. */
  score(ids: tf.Tensor2D, typeIds: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
    const { cls, scores } = this.forward(ids, typeIds, mask);
    cls.dispose();
    return scores;
  }

  dispose(): void {
    tf.dispose([...this.weights.values()]);
    this.weights.clear();
  }
}

/** Whether checkpoint tensor names are a BERT_Cat's (a scoring head beside its encoder) in either form. */
export function isBertCatCheckpoint(names: ReadonlySet<string>): boolean {
  return names.has('_classification_layer.weight') || (names.has('classifier.weight') && names.has('bert.embeddings.word_embeddings.weight'));
}

/** Which form a checkpoint is, by its head's name. */
function detectForm(names: Set<string>, file: string): BertCatForm {
  if (names.has('classifier.weight') && names.has('bert.embeddings.word_embeddings.weight')) return 'hf';
  if (names.has('_classification_layer.weight') && names.has('bert_model.embeddings.word_embeddings.weight')) return 'matchmaker';
  const prefix = names.has('bert_model.embeddings.word_embeddings.weight') ? 'bert_model.' : 'bert.';
  const head = prefix === 'bert.' ? 'classifier.weight' : '_classification_layer.weight';
  throw new InputError(
    file,
    undefined,
    'a BERT_Cat checkpoint: HF BertForSequenceClassification (bert.*, classifier.*) or matchmaker BERT_Cat (bert_model.*, _classification_layer.*)',
    `no tensor ${names.has(`${prefix}embeddings.word_embeddings.weight`) ? head : `${prefix}embeddings.word_embeddings.weight`}`,
  );
}

/** Which encoder a matchmaker checkpoint holds, by its first block's names (an HF one is always BERT). */
function detectEncoder(names: Set<string>, form: BertCatForm): BertCatEncoder {
  const { prefix } = FORMS[form];
  return form === 'matchmaker' && names.has(`${prefix}transformer.layer.0.attention.q_lin.weight`) ? 'distilbert' : 'bert';
}

/**
 * Sizes read off the weights, for checkpoints whose config.json is not a BertConfig (matchmaker saves its
 * own BERT_Cat_Config naming the base model). Heads are not visible in the weights: every released BERT and
 * DistilBERT uses 64 dims per head (base 768/12, large 1024/16, small ones 256/4, 128/2).
 */
function configFromWeights(t: Map<string, RawTensor>, prefix: string, encoder: BertCatEncoder): Record<string, number> {
  const shape = (n: string) => t.get(`${prefix}${n}`)?.shape ?? [];
  const { layers: blocks, names } = ENCODERS[encoder];
  let layers = 0;
  while (t.has(`${prefix}${blocks}${layers}.${names.query}.weight`)) layers++;
  const [vocab, hidden] = shape('embeddings.word_embeddings.weight');
  return {
    vocab_size: vocab,
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: Math.max(1, Math.round(hidden / 64)),
    intermediate_size: shape(`${blocks}0.${names.ffnIn}.weight`)[0],
    max_position_embeddings: shape('embeddings.position_embeddings.weight')[0],
    type_vocab_size: encoder === 'bert' ? shape('embeddings.token_type_embeddings.weight')[0] : 0,
  };
}

/** A DistilBertConfig's size fields under BertConfig names (those it has); a BertConfig as it is. */
function bertNames(raw: Record<string, unknown>, encoder: BertCatEncoder): Record<string, unknown> {
  if (encoder !== 'distilbert') return raw;
  const { dim, n_layers, n_heads, hidden_dim, activation, ...rest } = raw;
  const renamed: Record<string, unknown> = { hidden_size: dim, num_hidden_layers: n_layers, num_attention_heads: n_heads, intermediate_size: hidden_dim, hidden_act: activation };
  for (const k of Object.keys(renamed)) if (renamed[k] === undefined) delete renamed[k];
  return { ...rest, ...renamed, type_vocab_size: 0 };
}

/** Every tensor the model reads, with its expected shape. */
function expectedShapes(c: BertCatConfig, form: BertCatForm, encoder: BertCatEncoder, pooled: boolean): Map<string, number[]> {
  const { prefix, head } = FORMS[form];
  const { layers: blocks, names } = ENCODERS[encoder];
  const H = c.hidden_size;
  const m = new Map<string, number[]>([
    [`${prefix}embeddings.word_embeddings.weight`, [c.vocab_size, H]],
    [`${prefix}embeddings.position_embeddings.weight`, [c.max_position_embeddings, H]],
    [`${prefix}embeddings.LayerNorm.weight`, [H]],
    [`${prefix}embeddings.LayerNorm.bias`, [H]],
    [`${head}.weight`, [1, H]],
    [`${head}.bias`, [1]],
  ]);
  if (encoder === 'bert') m.set(`${prefix}embeddings.token_type_embeddings.weight`, [c.type_vocab_size, H]);
  if (pooled) (m.set(`${prefix}pooler.dense.weight`, [H, H]), m.set(`${prefix}pooler.dense.bias`, [H]));
  for (let l = 0; l < c.num_hidden_layers; l++) {
    for (const [name, shape] of layerShapes(names, H, c.intermediate_size)) m.set(`${prefix}${blocks}${l}.${name}`, shape);
  }
  return m;
}

/**
 * Loads a BERT_Cat folder in either form and with either encoder: config.json and model.safetensors, else
 * pytorch_model.bin (models/weights/folder.ts), checking every name and shape first. `read`: the
 * folder's weights when already read.
 */
export async function loadBertCat(dir: string, read?: ModelWeights): Promise<BertCat> {
  const { file, tensors } = read ?? (await readModelWeights(dir));
  const names = new Set(tensors.keys());
  const form = detectForm(names, file);
  const encoder = detectEncoder(names, form);
  const { prefix } = FORMS[form];

  const configFile = path.join(dir, 'config.json');
  let raw: Record<string, unknown> = {};
  if (existsSync(configFile)) {
    try {
      raw = JSON.parse(await fsp.readFile(configFile, 'utf8'));
    } catch (e) {
      throw new InputError(configFile, undefined, 'a JSON config', (e as Error).message);
    }
  }
  // What config.json says wins; sizes it leaves out (all of them in matchmaker's own config) come from the weights.
  raw = { ...configFromWeights(tensors, prefix, encoder), ...bertNames(raw, encoder) };
  const parsed = BertCatConfig.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new InputError(configFile, undefined, `a BERT config (${i.path.join('.')}: ${i.message})`);
  }
  const config = parsed.data;
  if (config.layer_norm_eps !== LAYER_NORM_EPS) {
    throw new InputError(configFile, undefined, `layer_norm_eps ${LAYER_NORM_EPS} (the shared encoder's)`, String(config.layer_norm_eps));
  }
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new InputError(configFile, undefined, 'hidden_size divisible by num_attention_heads', `${config.hidden_size} / ${config.num_attention_heads}`);
  }

  // DistilBERT has no pooler: matchmaker scores its CLS vector.
  const pooled = encoder === 'bert' && tensors.has(`${prefix}pooler.dense.weight`);
  if (form === 'hf' && !pooled) throw new InputError(file, undefined, 'the pooler of a BertForSequenceClassification', 'no tensor bert.pooler.dense.weight');
  const expected = expectedShapes(config, form, encoder, pooled);
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) throw new InputError(file, undefined, `tensor ${name} ${JSON.stringify(shape)}`, 'none');
    if (t.shape.join(',') !== shape.join(',')) throw new InputError(file, undefined, `tensor ${name} of shape ${JSON.stringify(shape)} (config.json)`, JSON.stringify(t.shape));
    if (!(t.data instanceof Float32Array)) throw new InputError(file, undefined, `floating point tensor ${name}`, t.dtype);
  }
  // Tensors the model does not read (e.g. position_ids buffers) are left out.
  const weights = new Map<string, tf.Tensor>();
  for (const name of expected.keys()) {
    const t = tensors.get(name)!;
    weights.set(name, tf.tensor(t.data, t.shape, 'float32'));
  }
  return BertCat.fromWeights(config, form, weights, encoder);
}
