import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../common/paths.js';
import { loadBertCat } from '../models/bert-cat.js';
import { initBackend } from '../models/engine/backend.js';
import { testBackend } from '../models/engine/testing.js';
import { bertCatParity } from './bert-cat.js';

/**
 * matchmaker's BERT_Cat with a DistilBERT encoder against the PyTorch golden made by
 * parity/goldens/bert-cat-distilbert-tiny/make_golden.py: from model.safetensors and from the torch.save
 * pytorch_model.bin beside it, 1e-4 relative.
 */
const GOLDEN_DIR = path.join(ROOT, 'parity', 'goldens', 'bert-cat-distilbert-tiny');
const GOLDEN = path.join(GOLDEN_DIR, 'golden.json');
const FOLDERS = { 'model.safetensors': GOLDEN_DIR, 'pytorch_model.bin': path.join(GOLDEN_DIR, 'pytorch_model') };

afterAll(async () => {
  await initBackend('cpu', { quiet: true });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`DistilBERT BERT_Cat parity on ${backend}`, () => {
    testBackend(backend);

    for (const [file, dir] of Object.entries(FOLDERS)) {
      it(`matches the PyTorch CLS vectors and scores from ${file}`, async () => {
        const report = await bertCatParity(dir, GOLDEN);
        expect(report.backend).toBe(backend);
        expect(report.form).toBe('matchmaker');
        expect(report.quantities.map((q) => q.name)).toEqual(['cls', 'scores']);
        for (const q of report.quantities) expect(q.maxRel, q.name).toBeLessThan(1e-4);
        expect(report.ok).toBe(true);
      });
    }
  });
}

describe('DistilBERT BERT_Cat inputs (cpu)', () => {
  testBackend('cpu');
  let golden: { input_ids: number[][]; token_type_ids: number[][]; attention_mask: number[][]; scores: number[] };
  beforeAll(async () => {
    golden = JSON.parse(await fsp.readFile(GOLDEN, 'utf8'));
  });

  it('ignores token types (DistilBERT has none) and needs the mask', async () => {
    const model = await loadBertCat(GOLDEN_DIR);
    expect(model.encoder).toBe('distilbert');
    const [b, L] = [golden.input_ids.length, golden.input_ids[0].length];
    const score = (types: number[][], mask: number[][]) =>
      tf.tidy(() => model.score(tf.tensor2d(golden.input_ids, [b, L], 'int32'), tf.tensor2d(types, [b, L], 'int32'), tf.tensor2d(mask, [b, L], 'int32')).arraySync());
    const zeros = golden.token_type_ids.map((r) => r.map(() => 0));
    const ones = golden.attention_mask.map((r) => r.map(() => 1));
    expect(score(zeros, golden.attention_mask)).toEqual(score(golden.token_type_ids, golden.attention_mask));
    const unmasked = score(golden.token_type_ids, ones);
    expect(Math.max(...unmasked.map((s, i) => Math.abs(s - golden.scores[i])))).toBeGreaterThan(0.1);
    model.dispose();
  });

  it('reads the head count from config.json: 64 dims per head (matchmaker configs without sizes) gives other scores', async () => {
    // Without n_heads the sizes come off the weights, with 64 dims per head: one head for dim 32.
    const config = JSON.parse(await fsp.readFile(path.join(GOLDEN_DIR, 'config.json'), 'utf8'));
    delete config.n_heads;
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bert-cat-distilbert-'));
    try {
      await fsp.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
      await fsp.symlink(path.join(GOLDEN_DIR, 'model.safetensors'), path.join(dir, 'model.safetensors'));
      const model = await loadBertCat(dir);
      expect(model.config.num_attention_heads).toBe(1);
      expect(model.config.num_hidden_layers).toBe(2);
      expect(model.config.intermediate_size).toBe(64);
      model.dispose();
      expect((await bertCatParity(dir, GOLDEN)).ok).toBe(false);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
