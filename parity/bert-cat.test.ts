import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { initBackend } from '../models/engine/backend.js';
import { testBackend } from '../models/engine/testing.js';
import { bertCatParity } from './bert-cat.js';

/** BERT_Cat against PyTorch's BertForSequenceClassification (goldens/bert-cat-tiny), 1e-4 relative. */
const GOLDEN_DIR = sharedPath('goldens', 'bert-cat-tiny');
const GOLDEN = path.join(GOLDEN_DIR, 'golden.json');

afterAll(async () => {
  await initBackend('cpu', { quiet: true });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`BERT_Cat parity on ${backend}`, () => {
    testBackend(backend);

    it('matches the PyTorch CLS vectors and scores', async () => {
      const report = await bertCatParity(GOLDEN_DIR, GOLDEN);
      expect(report.backend).toBe(backend);
      for (const q of report.quantities) expect(q.maxRel, q.name).toBeLessThan(1e-4);
      expect(report.ok).toBe(true);
      expect(report.quantities.map((q) => q.name)).toEqual(['cls', 'scores']);
    });
  });
}
