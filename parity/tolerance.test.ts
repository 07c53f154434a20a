import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../common/paths.js';
import { initBackend } from '../models/engine/backend.js';
import { loadDistilBert } from '../models/weights/hf.js';
import { readBertDotReference, runBertDotParity, type BertDotReference } from './bert-dot.js';
import type { ParityReport } from './reference.js';
import { adamStepSlack } from './tolerance.js';

/** parity/goldens/distilbert-trained: a trained checkpoint and its PyTorch float32 references (README there). */
const TRAINED = path.join(ROOT, 'parity', 'goldens', 'distilbert-trained');

async function parity(ref: BertDotReference): Promise<ParityReport> {
  const model = await loadDistilBert(TRAINED);
  try {
    return await runBertDotParity(model, ref);
  } finally {
    model.dispose();
  }
}
const failed = (r: ParityReport) => r.quantities.filter((q) => !q.ok).map((q) => q.name);

describe('adamStepSlack', () => {
  it("is the change of Adam's first step g / (|g| + eps) for a gradient off by up to ±slack", () => {
    // Large gradient: the step is flat, d/dg = eps / (|g| + eps)² ≈ 1e-8 / 1e-6, times 1e-6.
    expect(adamStepSlack(1e-3, 1e-6, 1e-8)).toBeCloseTo(1e-8, 10);
    // A gradient of float noise may step either way: 1e-7 → 0.909, 1e-7 - 1e-6 → -0.989.
    expect(adamStepSlack(1e-7, 1e-6, 1e-8)).toBeCloseTo(1e-7 / 1.1e-7 + 9e-7 / 9.1e-7, 12);
    expect(adamStepSlack(0, 1, 1e-8)).toBeCloseTo(1, 7);
  });
});

afterAll(async () => {
  await initBackend('cpu', { quiet: true });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`a trained checkpoint (parity/goldens/distilbert-trained) on ${backend}`, () => {
    it('passes against its PyTorch float32 reference (was: 77/100 on cpu, 74/100 on wasm)', async () => {
      await initBackend(backend, { quiet: true });
      const good = await parity(await readBertDotReference(path.join(TRAINED, 'reference.json')));
      expect(good.backend).toBe(backend);
      expect(good.quantities.length).toBe(100);
      expect(good.quantities.filter((q) => !q.ok).map((q) => `${q.name}: ${q.maxRel} > ${q.tol}`)).toEqual([]);
      expect(good.ok).toBe(true);
    });

    // Each mistake shows in the forward pass and in the gradients, not only after the Adam step's slack.
    it.each([
      ['transpose_q', 10],
      ['no_sa_ln', 10],
      ['pos_shift', 50],
      ['no_mask', 40],
    ] as const)('fails a reference made with a real mistake: %s (more than %i quantities)', async (mutation, atLeast) => {
      await initBackend(backend, { quiet: true });
      const r = await parity(await readBertDotReference(path.join(TRAINED, `reference-${mutation}.json`)));
      const names = failed(r);
      expect(r.ok).toBe(false);
      expect(names.length).toBeGreaterThan(atLeast);
      expect(names.some((n) => n.endsWith('_cls'))).toBe(true);
      expect(names.some((n) => n.startsWith('grad_'))).toBe(true);
    });
  });
}

describe('the Adam step on a trained checkpoint (cpu)', () => {
  it("fails a reference whose Adam step used another lr: the slack covers values whose gradient is near 0, not a wrong step", async () => {
    await initBackend('cpu', { quiet: true });
    const ref = await readBertDotReference(path.join(TRAINED, 'reference.json'));
    const names = failed(await parity({ ...ref, adam: { ...ref.adam!, lr: 1.2e-3 } }));
    expect(names.length).toBeGreaterThan(10);
    expect(names.every((n) => n.startsWith('after_adam_step.'))).toBe(true);
  });
});
