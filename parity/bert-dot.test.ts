import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { initBackend } from '../models/engine/backend.js';
import { loadDistilBert } from '../models/weights/hf.js';
import { readBertDotReference, runBertDotParity, type BertDotReference } from './bert-dot.js';
import { TOL_GRAD, TOL_OUTPUT } from './tolerance.js';

/**
 * The BERT_Dot student against PyTorch (goldens/distilbert-tiny): CLS vectors, scores and Margin-MSE loss to
 * 1e-4 relative, gradient norms and samples to 1e-3, and after one torch-exact Adam step (train/adam.ts)
 * the parameters, scores and loss to 1e-4.
 */
const GOLDEN_DIR = sharedPath('goldens', 'distilbert-tiny');
let ref: BertDotReference;

beforeAll(async () => {
  ref = await readBertDotReference(sharedPath('goldens', 'distilbert-tiny', 'golden.json'));
});
afterAll(async () => {
  await initBackend('cpu', { quiet: true });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`BERT_Dot parity on ${backend}`, () => {
    it('matches every quantity of the PyTorch golden, without leaking tensors', async () => {
      await initBackend(backend, { quiet: true });
      const before = tf.memory().numTensors;
      const model = await loadDistilBert(GOLDEN_DIR);
      const report = await runBertDotParity(model, ref);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(report.backend).toBe(backend);
      const names = report.quantities.map((q) => q.name);
      // every part of the golden was compared: 3 CLS, 2 scores, loss, global norm, 36 norms, 18 samples, 3 + 36 after Adam
      expect(names.length).toBe(3 + 2 + 1 + 1 + Object.keys(ref.grad_norms!).length + Object.keys(ref.grad_samples!).length + 3 + Object.keys(ref.after_adam_step!.param_samples!).length);
      for (const q of report.quantities) {
        if (q.note) continue; // after-Adam values judged one by one (parity/tolerance.ts), checked below
        const tol = q.name.startsWith('grad') ? TOL_GRAD : TOL_OUTPUT;
        expect(q.maxRel, q.name).toBeLessThan(tol);
      }
      // The key biases' gradients are float noise (zero in exact arithmetic): Adam may step them either way.
      const noted = report.quantities.filter((q) => q.note).map((q) => q.name);
      expect(noted).toContain('after_adam_step.param transformer.layer.0.attention.k_lin.bias');
      expect(noted).toContain('after_adam_step.param transformer.layer.1.attention.k_lin.bias');
      expect(report.ok).toBe(true);
    });
  });
}

it('fails a reference that is off by more than the tolerance', async () => {
  await initBackend('wasm', { quiet: true });
  const model = await loadDistilBert(GOLDEN_DIR);
  const off = { query: ref.query, pos: ref.pos, neg: ref.neg, query_cls: ref.query_cls!.map((row) => row.map((x, i) => (i === 0 ? x + 1e-3 : x))) };
  const report = await runBertDotParity(model, off);
  model.dispose();
  expect(report.quantities.map((q) => q.name)).toEqual(['query_cls']);
  expect(report.quantities[0].maxAbs).toBeCloseTo(1e-3, 5);
  expect(report.ok).toBe(false);
});

it('rejects unreadable and malformed references with the file and the problem', async () => {
  await expect(readBertDotReference('/nonexistent/ref.json')).rejects.toThrow(/^\/nonexistent\/ref\.json: expected a readable JSON reference/);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ref-'));
  const file = path.join(dir, 'ref.json');
  await fsp.writeFile(file, JSON.stringify({ query: ref.query, pos: ref.pos }));
  await expect(readBertDotReference(file)).rejects.toThrow(/ref\.json: expected a BERT_Dot reference \(.* at neg\)/);
  await fsp.writeFile(file, JSON.stringify({ query: ref.query, pos: ref.pos, neg: { ...ref.neg, attention_mask: ref.neg.attention_mask.slice(1) } }));
  await expect(readBertDotReference(file)).rejects.toThrow(/neg\.input_ids and neg\.attention_mask as equal \[batch, length\] matrices/);
  await fsp.rm(dir, { recursive: true });
});
