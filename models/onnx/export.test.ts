import { promises as fsp } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../../common/paths.js';
import { rng } from '../../common/rng.js';
import { BertCat, BertCatConfig, loadBertCat } from '../bert-cat.js';
import { DISTILBERT_BASE, DistilBert, distilbertShapes, type DistilBertConfig } from '../distilbert.js';
import { initBackend } from '../engine/backend.js';
import { compare } from '../../parity/reference.js';
import { readSafetensorsRaw, type RawTensor } from '../weights/safetensors.js';
import type { HostWeights } from './encoder.js';
import { hostWeights } from './export.js';
import { OnnxBertCat, OnnxBertDot } from './inference.js';

/**
 * The ONNX graphs on ONNX Runtime against PyTorch (goldens/distilbert-tiny, goldens/bert-cat-tiny) and against
 * the tfjs path (cpu backend) on the same weights, 1e-4 relative (the goldens' float32 tolerance).
 */
const TOL = 1e-4;
const OPTS = { threads: 1, provider: 'cpu' as const };

const flat = (rows: number[][]) => Int32Array.from(rows.flat());
const dot = (a: Float32Array, b: Float32Array, dim: number, r: number) => {
  let s = 0;
  for (let k = 0; k < dim; k++) s += a[r * dim + k] * b[r * dim + k];
  return s;
};

async function golden<T>(name: string): Promise<T> {
  return JSON.parse(await fsp.readFile(sharedPath('goldens', name, 'golden.json'), 'utf8')) as T;
}
async function rawWeights(name: string): Promise<Map<string, RawTensor>> {
  return (await readSafetensorsRaw(sharedPath('goldens', name, 'model.safetensors'))).tensors;
}
async function configOf(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await fsp.readFile(sharedPath('goldens', name, 'config.json'), 'utf8'));
}

beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
});

describe('BERT_Dot (DistilBERT) on ONNX Runtime', () => {
  interface Part {
    input_ids: number[][];
    attention_mask: number[][];
  }
  interface Golden {
    query: Part;
    pos: Part;
    neg: Part;
    query_cls: number[][];
    pos_cls: number[][];
    neg_cls: number[][];
    score_pos: number[];
    score_neg: number[];
  }

  it('gives PyTorch CLS vectors and dot scores (goldens/distilbert-tiny)', async () => {
    const g = await golden<Golden>('distilbert-tiny');
    const config = (await configOf('distilbert-tiny')) as DistilBertConfig;
    const model = await OnnxBertDot.create(config, await rawWeights('distilbert-tiny'), OPTS);
    try {
      const cls: Record<string, Float32Array> = {};
      for (const part of ['query', 'pos', 'neg'] as const) {
        const { input_ids, attention_mask } = g[part];
        cls[part] = await model.encode(flat(input_ids), flat(attention_mask), input_ids.length);
        const q = compare(`${part}_cls`, cls[part], g[`${part}_cls`].flat(), TOL);
        expect(q.maxRel, `${part}_cls`).toBeLessThan(TOL);
      }
      const rows = g.score_pos.length;
      const sPos = Array.from({ length: rows }, (_, r) => dot(cls.query, cls.pos, config.dim, r));
      const sNeg = Array.from({ length: rows }, (_, r) => dot(cls.query, cls.neg, config.dim, r));
      expect(compare('score_pos', sPos, g.score_pos, TOL).maxRel).toBeLessThan(TOL);
      expect(compare('score_neg', sNeg, g.score_neg, TOL).maxRel).toBeLessThan(TOL);
    } finally {
      await model.dispose();
    }
  });

  // Random weights with every bias and LayerNorm weight away from its init (zeros and ones would hide a
  // misplaced bias), on a small vocabulary.
  const config: DistilBertConfig = { ...DISTILBERT_BASE, vocab_size: 60, max_position_embeddings: 24, dim: 16, n_layers: 2, n_heads: 4, hidden_dim: 40 };
  let tfModel: DistilBert;
  let weights: HostWeights;
  beforeAll(async () => {
    const next = rng(7);
    const vars = new Map<string, tf.Variable>();
    for (const [name, shape] of distilbertShapes(config)) {
      const size = shape.reduce((a, b) => a * b, 1);
      const isNormWeight = /(LayerNorm|layer_norm)\.weight$/.test(name);
      const data = Float32Array.from({ length: size }, () => (isNormWeight ? 1 : 0) + (next() - 0.5) * 0.4);
      vars.set(name, tf.variable(tf.tensor(data, shape), true));
    }
    tfModel = new DistilBert(config, vars);
    weights = await hostWeights(tfModel.weights);
  });
  afterAll(() => tfModel?.dispose());

  /** Rows of the given lengths with random ids, padded with 0 to the longest. */
  function batch(lengths: number[], seed: number): { ids: Int32Array; mask: Int32Array; L: number } {
    const next = rng(seed);
    const L = Math.max(...lengths);
    const ids = new Int32Array(lengths.length * L);
    const mask = new Int32Array(lengths.length * L);
    lengths.forEach((n, r) => {
      for (let j = 0; j < n; j++) (ids[r * L + j] = 1 + Math.floor(next() * (config.vocab_size - 1))), (mask[r * L + j] = 1);
    });
    return { ids, mask, L };
  }

  it('matches the tfjs encoder on padded batches of different lengths', async () => {
    const model = await OnnxBertDot.create(config, weights, OPTS);
    try {
      for (const [lengths, seed] of [
        [[9, 4, 12, 1, 12], 1],
        [[3], 2],
        [[24, 17], 3],
      ] as [number[], number][]) {
        const { ids, mask, L } = batch(lengths, seed);
        const ours = await model.encode(ids, mask, lengths.length);
        const ref = tf.tidy(() => tfModel.encode(tf.tensor2d(ids, [lengths.length, L], 'int32'), tf.tensor2d(mask, [lengths.length, L], 'int32')));
        const q = compare('cls', ours, ref.dataSync(), TOL);
        ref.dispose();
        expect(ours.length).toBe(lengths.length * config.dim);
        expect(q.maxRel, `lengths ${lengths}`).toBeLessThan(TOL);
      }
    } finally {
      await model.dispose();
    }
  });

  it('gives a row the same vector alone as padded inside a batch', async () => {
    const model = await OnnxBertDot.create(config, weights, OPTS);
    try {
      const lengths = [5, 11, 2];
      const { ids, mask, L } = batch(lengths, 4);
      const all = await model.encode(ids, mask, lengths.length);
      for (let r = 0; r < lengths.length; r++) {
        const n = lengths[r];
        const alone = await model.encode(ids.slice(r * L, r * L + n), mask.slice(r * L, r * L + n), 1);
        expect(compare(`row ${r}`, all.subarray(r * config.dim, (r + 1) * config.dim), alone, 1e-5).ok).toBe(true);
      }
    } finally {
      await model.dispose();
    }
  });

  it('declares dynamic batch and sequence axes, and refuses inputs longer than the positions', async () => {
    const model = await OnnxBertDot.create(config, weights, OPTS);
    try {
      const meta = model.onnx.session.inputMetadata;
      expect(meta.map((m) => m.name)).toEqual(['input_ids', 'attention_mask']);
      for (const m of meta) expect(m.isTensor && m.type === 'int64' && m.shape).toEqual(['batch', 'sequence']);
      expect(model.onnx.session.outputNames).toEqual(['cls', 'last_hidden_state']);
      const { ids, mask } = batch([config.max_position_embeddings + 1], 5);
      await expect(model.encode(ids, mask, 1)).rejects.toThrow(`sequence length 25 exceeds max_position_embeddings 24`);
      await expect(model.encode(ids, mask.subarray(1), 1)).rejects.toThrow('not 1 rows of one length');
    } finally {
      await model.dispose();
    }
  });

  it('names a missing or misshapen weight', async () => {
    const missing = new Map(weights);
    missing.delete('transformer.layer.1.ffn.lin2.bias');
    await expect(OnnxBertDot.create(config, missing, OPTS)).rejects.toThrow("missing weight 'transformer.layer.1.ffn.lin2.bias' [16]");
    const wrong = new Map(weights);
    wrong.set('embeddings.word_embeddings.weight', { shape: [59, 16], data: new Float32Array(59 * 16) });
    await expect(OnnxBertDot.create(config, wrong, OPTS)).rejects.toThrow("weight 'embeddings.word_embeddings.weight' has shape [59,16], expected [60,16]");
  });
});

describe('BERT_Cat on ONNX Runtime', () => {
  interface Golden {
    input_ids: number[][];
    token_type_ids: number[][];
    attention_mask: number[][];
    cls: number[][];
    scores: number[];
  }
  let g: Golden;
  let config: BertCatConfig;
  let hf: Map<string, RawTensor>;
  const inputs = () => [flat(g.input_ids), flat(g.token_type_ids), flat(g.attention_mask), g.input_ids.length] as const;
  /** The hf checkpoint's tensors under matchmaker's names (bert.* → bert_model.*, classifier → _classification_layer). */
  const asMatchmaker = (pooler: boolean) =>
    new Map(
      [...hf]
        .filter(([name]) => pooler || !name.startsWith('bert.pooler.'))
        .map(([name, t]) => [name.replace(/^bert\./, 'bert_model.').replace(/^classifier\./, '_classification_layer.'), t]),
    );

  beforeAll(async () => {
    g = await golden<Golden>('bert-cat-tiny');
    config = BertCatConfig.parse(await configOf('bert-cat-tiny'));
    hf = await rawWeights('bert-cat-tiny');
  });

  it('gives PyTorch scores and CLS vectors (goldens/bert-cat-tiny, hf form)', async () => {
    const model = await OnnxBertCat.create(config, 'hf', hf, { ...OPTS, cls: true });
    try {
      const { scores, cls } = await model.forward(...inputs());
      expect(compare('scores', scores, g.scores, TOL).maxRel).toBeLessThan(TOL);
      expect(compare('cls', cls, g.cls.flat(), TOL).maxRel).toBeLessThan(TOL);
      expect(compare('score()', await model.score(...inputs()), scores, 0).ok).toBe(true);
    } finally {
      await model.dispose();
    }
  });

  it('scores the matchmaker form with a pooler as the hf form', async () => {
    const model = await OnnxBertCat.create(config, 'matchmaker', asMatchmaker(true), OPTS);
    try {
      expect(compare('scores', await model.score(...inputs()), g.scores, TOL).maxRel).toBeLessThan(TOL);
      await expect(model.forward(...inputs())).rejects.toThrow('{ cls: true }');
    } finally {
      await model.dispose();
    }
  });

  it('matches tfjs on the matchmaker form without a pooler (head on the raw CLS vector)', async () => {
    const raw = asMatchmaker(false);
    const model = await OnnxBertCat.create(config, 'matchmaker', raw, OPTS);
    const tensors = new Map([...raw].map(([name, t]) => [name, tf.tensor(t.data, t.shape, 'float32')]));
    const tfModel = BertCat.fromWeights(config, 'matchmaker', tensors);
    try {
      const [ids, types, mask, rows] = inputs();
      const L = ids.length / rows;
      const ref = tf.tidy(() => tfModel.score(tf.tensor2d(ids, [rows, L], 'int32'), tf.tensor2d(types, [rows, L], 'int32'), tf.tensor2d(mask, [rows, L], 'int32')));
      const ours = await model.score(ids, types, mask, rows);
      const q = compare('scores', ours, ref.dataSync(), TOL);
      ref.dispose();
      expect(q.maxRel).toBeLessThan(TOL);
      // Without the pooler the scores differ from the golden's: the pooler was really left out.
      expect(compare('golden', ours, g.scores, TOL).ok).toBe(false);
    } finally {
      tfModel.dispose();
      await model.dispose();
    }
  });

  it('refuses an hf checkpoint without its pooler', async () => {
    const noPooler = new Map([...hf].filter(([name]) => !name.startsWith('bert.pooler.')));
    await expect(OnnxBertCat.create(config, 'hf', noPooler, OPTS)).rejects.toThrow("missing weight 'bert.pooler.dense.weight'");
  });

  it('gives PyTorch scores and CLS vectors with a DistilBERT encoder (parity/goldens/bert-cat-distilbert-tiny), token types unused', async () => {
    const dir = path.join(ROOT, 'parity', 'goldens', 'bert-cat-distilbert-tiny');
    const gd = JSON.parse(await fsp.readFile(path.join(dir, 'golden.json'), 'utf8')) as Golden;
    const tfModel = await loadBertCat(dir);
    expect(tfModel.encoder).toBe('distilbert');
    const model = await OnnxBertCat.create(tfModel.config, tfModel.form, await hostWeights(tfModel.weights), { ...OPTS, cls: true, encoder: 'distilbert' });
    tfModel.dispose();
    try {
      const rows = gd.input_ids.length;
      const { scores, cls } = await model.forward(flat(gd.input_ids), flat(gd.token_type_ids), flat(gd.attention_mask), rows);
      expect(compare('scores', scores, gd.scores, TOL).maxRel).toBeLessThan(TOL);
      expect(compare('cls', cls, gd.cls.flat(), TOL).maxRel).toBeLessThan(TOL);
      const zeros = new Int32Array(flat(gd.token_type_ids).length);
      expect(compare('types', await model.score(flat(gd.input_ids), zeros, flat(gd.attention_mask), rows), scores, 0).ok).toBe(true);
    } finally {
      await model.dispose();
    }
  });
});
