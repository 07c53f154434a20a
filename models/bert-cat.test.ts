import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { initBackend } from './engine/backend.js';
import { testBackend } from './engine/testing.js';
import { bertCatParity } from '../parity/bert-cat.js';
import { loadBertCat } from './bert-cat.js';
import { readSafetensors, writeSafetensors } from './weights/safetensors.js';

/** BERT_Cat's checkpoint forms and inputs against PyTorch's BertForSequenceClassification (goldens/bert-cat-tiny). */
const GOLDEN_DIR = sharedPath('goldens', 'bert-cat-tiny');
const GOLDEN = path.join(GOLDEN_DIR, 'golden.json');

interface Golden {
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
  cls: number[][];
  scores: number[];
}
let golden: Golden;
let tmp: string;

beforeAll(async () => {
  golden = JSON.parse(await fsp.readFile(GOLDEN, 'utf8'));
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bert-cat-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
  await initBackend('cpu', { quiet: true });
});

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) (d = Math.max(d, Math.abs(a[i] - b[i]))), (m = Math.max(m, Math.abs(b[i])));
  return d / m;
};

describe('BERT_Cat weight forms and inputs (wasm)', () => {
  testBackend('wasm');

  it('needs the token types and the mask (the golden moves far beyond tolerance without them)', async () => {
    const model = await loadBertCat(GOLDEN_DIR);
    const [b, L] = [golden.input_ids.length, golden.input_ids[0].length];
    const before = tf.memory().numTensors;
    const run = (types: number[][], mask: number[][]) =>
      tf.tidy(() => model.score(tf.tensor2d(golden.input_ids, [b, L], 'int32'), tf.tensor2d(types, [b, L], 'int32'), tf.tensor2d(mask, [b, L], 'int32')).arraySync());
    const zeros = golden.token_type_ids.map((r) => r.map(() => 0));
    const ones = golden.attention_mask.map((r) => r.map(() => 1));
    expect(maxRel(run(golden.token_type_ids, golden.attention_mask), golden.scores)).toBeLessThan(1e-4);
    expect(maxRel(run(zeros, golden.attention_mask), golden.scores)).toBeGreaterThan(1e-2);
    expect(maxRel(run(golden.token_type_ids, ones), golden.scores)).toBeGreaterThan(1e-2);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('loads the matchmaker form (bert_model.* + _classification_layer) with the same scores', async () => {
    const hf = await readSafetensors(path.join(GOLDEN_DIR, 'model.safetensors'));
    const mm = new Map<string, tf.Tensor>();
    for (const [name, t] of hf) mm.set(name.replace(/^bert\./, 'bert_model.').replace(/^classifier\./, '_classification_layer.'), t);
    const dir = path.join(tmp, 'matchmaker');
    await fsp.mkdir(dir);
    await writeSafetensors(path.join(dir, 'model.safetensors'), mm);
    await fsp.copyFile(path.join(GOLDEN_DIR, 'config.json'), path.join(dir, 'config.json'));
    const report = await bertCatParity(dir, GOLDEN);
    expect(report.form).toBe('matchmaker');
    expect(report.ok).toBe(true);
  });

  it('the matchmaker form without a pooler scores the raw CLS vector', async () => {
    const hf = await readSafetensors(path.join(GOLDEN_DIR, 'model.safetensors'));
    const mm = new Map<string, tf.Tensor>();
    for (const [name, t] of hf) {
      if (name.startsWith('bert.pooler.')) continue;
      mm.set(name.replace(/^bert\./, 'bert_model.').replace(/^classifier\./, '_classification_layer.'), t);
    }
    const dir = path.join(tmp, 'matchmaker-nopool');
    await fsp.mkdir(dir);
    await writeSafetensors(path.join(dir, 'model.safetensors'), mm);
    await fsp.copyFile(path.join(GOLDEN_DIR, 'config.json'), path.join(dir, 'config.json'));
    const model = await loadBertCat(dir);
    const w = (await hf.get('classifier.weight')!.data()) as Float32Array;
    const bias = (await hf.get('classifier.bias')!.data())[0];
    // Expected: classifier applied to PyTorch's raw CLS vectors.
    const expected = golden.cls.map((c) => c.reduce((s, x, i) => s + x * w[i], bias));
    const [b, L] = [golden.input_ids.length, golden.input_ids[0].length];
    const got = tf.tidy(() =>
      model.score(tf.tensor2d(golden.input_ids, [b, L], 'int32'), tf.tensor2d(golden.token_type_ids, [b, L], 'int32'), tf.tensor2d(golden.attention_mask, [b, L], 'int32')).arraySync(),
    );
    expect(maxRel(got, expected)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('names the missing tensor when a checkpoint is neither form', async () => {
    const hf = await readSafetensors(path.join(GOLDEN_DIR, 'model.safetensors'));
    hf.delete('classifier.weight');
    const dir = path.join(tmp, 'broken');
    await fsp.mkdir(dir);
    await writeSafetensors(path.join(dir, 'model.safetensors'), hf);
    await fsp.copyFile(path.join(GOLDEN_DIR, 'config.json'), path.join(dir, 'config.json'));
    await expect(loadBertCat(dir)).rejects.toThrow(/classifier\.weight/);
  });
});
