import type * as tf from '@tensorflow/tfjs-core';
import type { BertCatConfig, BertCatEncoder, BertCatForm } from '../bert-cat.js';
import type { DistilBertConfig } from '../distilbert.js';
import { BERT_LAYER_NAMES, DISTILBERT_LAYER_NAMES, LAYER_NORM_EPS } from '../transformer.js';
import { EncoderNodes, WeightReader, type HostWeights } from './encoder.js';
import { GraphBuilder } from './graph.js';

/**
 * ONNX graphs of the two models, built from their weights by HF name (the names of models/distilbert.ts's
 * distilbertShapes and of models/bert-cat.ts's two checkpoint forms). Inputs are int64 [batch, sequence]
 * with both axes dynamic, as HF's exports have them:
 *
 * - BERT_Dot (DistilBERT): `input_ids`, `attention_mask` → `cls` [batch, dim] (the vector the dot product
 *   scores), and `last_hidden_state` [batch, sequence, dim] so the file also serves embedders that pool
 *   themselves with CLS pooling (transformers.js feature-extraction, Vespa's and Qdrant's HF embedders).
 * - BERT_Cat: `input_ids`, `attention_mask`, `token_type_ids` → `score` [batch] and `logits` [batch, 1]
 *   (BertForSequenceClassification's output name); with `{ cls: true }` also `cls` [batch, dim] (the
 *   last layer's [CLS] vector before the pooler), for parity checks. A DistilBERT encoder has no token types:
 *   its graph still takes `token_type_ids` (unused), so every BERT_Cat file is fed alike.
 *
 * The result is the ONNX file's bytes: write them to a .onnx file, or hand them to createOnnxSession.
 */

export const BERT_DOT_INPUTS = ['input_ids', 'attention_mask'] as const;
export const BERT_CAT_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

/** The values of tfjs tensors (e.g. a live model's variables) as HostWeights, read asynchronously (webgpu). */
export async function hostWeights(tensors: ReadonlyMap<string, tf.Tensor>): Promise<HostWeights> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32') throw new Error(`ONNX export: weight '${name}' is ${t.dtype}, expected float32`);
    out.set(name, { shape: t.shape, data: (await t.data()) as Float32Array });
  }
  return out;
}

/** The BERT_Dot student (HF DistilBertModel weights, no `distilbert.` prefix) as an ONNX model. */
export function bertDotOnnx(config: DistilBertConfig, weights: HostWeights): Uint8Array {
  const g = new GraphBuilder();
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
  const nodes = new EncoderNodes(g, new WeightReader(weights));
  const h = nodes.encoder(
    {
      prefix: '',
      layerPrefix: 'transformer.layer.',
      names: DISTILBERT_LAYER_NAMES,
      layers: config.n_layers,
      dim: config.dim,
      heads: config.n_heads,
      hidden: config.hidden_dim,
      vocab: config.vocab_size,
      maxPositions: config.max_position_embeddings,
      eps: LAYER_NORM_EPS, // HF's DistilBERT has no eps field: 1e-12 in its code
    },
    ids,
    mask,
  );
  g.node('Identity', [h], {}, 'last_hidden_state');
  nodes.cls(h, 'cls');
  g.output('cls', 'float32', ['batch', config.dim]);
  g.output('last_hidden_state', 'float32', ['batch', 'sequence', config.dim]);
  return g.toBytes({
    graphName: 'bert_dot',
    docString: 'margin-mse BERT_Dot (DistilBERT) encoder: cls = last_hidden_state[:, 0]',
    metadata: { kind: 'bert-dot', pooling: 'cls', max_position_embeddings: String(config.max_position_embeddings) },
  });
}

/** Name prefixes of the two BERT_Cat checkpoint forms (models/bert-cat.ts). */
const CAT_FORMS: Record<BertCatForm, { prefix: string; head: string }> = {
  hf: { prefix: 'bert.', head: 'classifier' },
  matchmaker: { prefix: 'bert_model.', head: '_classification_layer' },
};

/** Where each encoder keeps its blocks (after the form's prefix) and their names, as models/bert-cat.ts. */
const CAT_ENCODERS: Record<BertCatEncoder, { layerPrefix: string; names: typeof BERT_LAYER_NAMES }> = {
  bert: { layerPrefix: 'encoder.layer.', names: BERT_LAYER_NAMES },
  distilbert: { layerPrefix: 'transformer.layer.', names: DISTILBERT_LAYER_NAMES },
};

/**
 * The BERT_Cat teacher as an ONNX model, in either checkpoint form and with either encoder (BERT, or
 * DistilBERT in the matchmaker form): score = head(tanh(pooler(CLS))), or head(CLS) for a checkpoint without
 * a pooler (decided, as models/bert-cat.ts does, by the presence of the pooler's weights).
 */
export function bertCatOnnx(
  config: BertCatConfig,
  form: BertCatForm,
  weights: HostWeights,
  opts: { cls?: boolean; encoder?: BertCatEncoder } = {},
): Uint8Array {
  const { prefix, head } = CAT_FORMS[form];
  const encoder = opts.encoder ?? 'bert';
  const H = config.hidden_size;
  const g = new GraphBuilder();
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
  const types = g.input('token_type_ids', 'int64', ['batch', 'sequence']);
  const reader = new WeightReader(weights);
  const nodes = new EncoderNodes(g, reader);
  const h = nodes.encoder(
    {
      prefix,
      ...CAT_ENCODERS[encoder],
      layers: config.num_hidden_layers,
      dim: H,
      heads: config.num_attention_heads,
      hidden: config.intermediate_size,
      vocab: config.vocab_size,
      maxPositions: config.max_position_embeddings,
      typeVocab: encoder === 'bert' ? config.type_vocab_size : undefined,
      eps: config.layer_norm_eps,
    },
    ids,
    mask,
    types,
  );
  const cls = nodes.cls(h, opts.cls ? 'cls' : undefined); // [b, H]
  const pooled = reader.has(`${prefix}pooler.dense.weight`);
  if (form === 'hf' && !pooled) throw new Error(`ONNX export: missing weight '${prefix}pooler.dense.weight' of a BertForSequenceClassification`);
  const rep = pooled ? g.node('Tanh', [nodes.linear(cls, `${prefix}pooler.dense`, H, H)]) : cls; // [b, H]
  const logits = g.node('Identity', [nodes.linear(rep, head, 1, H)], {}, 'logits'); // [b, 1]
  g.node('Squeeze', [logits, g.int64('score_axes', [1])], {}, 'score'); // [b]
  g.output('score', 'float32', ['batch']);
  g.output('logits', 'float32', ['batch', 1]);
  if (opts.cls) g.output('cls', 'float32', ['batch', H]);
  return g.toBytes({
    graphName: 'bert_cat',
    docString: `margin-mse BERT_Cat cross-encoder (${form} form, ${encoder} encoder${pooled ? ', pooler' : ', no pooler'}): score = logits[:, 0]`,
    metadata: { kind: 'bert-cat', form, encoder, max_position_embeddings: String(config.max_position_embeddings) },
  });
}
