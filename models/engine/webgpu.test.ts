import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../../common/paths.js';
import type { GroupBatch } from '../../data/batch.js';
import { loadDistilBert } from '../weights/hf.js';
import { readBertDotReference, referenceBatch, runBertDotParity } from '../../parity/bert-dot.js';
import { compare } from '../../parity/reference.js';
import { Adam } from '../../train/adam.js';
import { lossTerms } from '../../train/loss-terms.js';
import { stepGradients } from '../../train/step.js';
import { bertDotStudent } from '../../train/bert-dot-student.js';
import { initBackend } from './backend.js';
import { probeWebgpu } from './webgpu.js';

/**
 * The webgpu backend on whatever adapter exists (in CI: Mesa's llvmpipe through Dawn's OpenGL ES backend,
 * see docs/engine.md for the Debian packages). Skipped, with the reason printed, when there is none.
 * Reads are asynchronous (`await t.data()`): tfjs-webgpu's synchronous read needs a browser's OffscreenCanvas.
 */
const probe = await probeWebgpu();
if (!probe.adapter) console.log(`SKIP webgpu tests: no WebGPU adapter here (${probe.lines.join('; ')})`);
const GOLDEN = sharedPath('goldens', 'distilbert-tiny');

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

describe.skipIf(!probe.adapter)('webgpu backend', () => {
  it('starts when chosen explicitly, and auto passes over a software adapter', async () => {
    const auto = await initBackend('auto', { quiet: true });
    if (probe.adapter?.isSoftware) {
      expect(auto.name).not.toBe('webgpu');
      expect(auto.reasons.find((l) => l.startsWith('not webgpu:'))).toMatch(/software adapter, slower than wasm/);
    }
    const r = await initBackend('webgpu', { quiet: true });
    expect(r.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
  });

  it('batched, transposed products and the embedding gradient match cpu', async () => {
    const f = () => [
      tf.matMul(tf.randomUniform([2, 3, 6, 8], -1, 1, 'float32', 1), tf.randomUniform([2, 3, 10, 8], -1, 1, 'float32', 2), false, true),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d([3, 0, 3], 'int32')), tf.reshape(tf.range(0, 12), [3, 4]))))(tf.zeros([5, 4])),
    ];
    await initBackend('cpu', { quiet: true });
    const want = await Promise.all(f().map(values));
    await initBackend('webgpu', { quiet: true });
    const got = await Promise.all(f().map(values));
    for (let i = 0; i < want.length; i++) expect(compare(`out ${i}`, got[i], want[i], 1e-5).ok).toBe(true);
  });

  it('matches the PyTorch golden: CLS vectors, scores, Margin-MSE loss, gradients, one Adam step', async () => {
    await initBackend('webgpu', { quiet: true });
    const ref = await readBertDotReference(`${GOLDEN}/golden.json`);
    const model = await loadDistilBert(GOLDEN);
    const { quantities: q } = await runBertDotParity(model, ref);
    model.dispose();
    const bad = q.filter((x) => !x.ok);
    expect(bad.map((x) => `${x.name}: rel ${x.maxRel} > ${x.tol}`)).toEqual([]);
    expect(q.length).toBeGreaterThan(10);
  }, 300_000); // shader compilation on a software rasterizer is slow, more so on a loaded machine

  it('a short Margin-MSE training run follows the cpu run and leaks nothing', async () => {
    const losses: Record<string, number[]> = {};
    // The golden batch with passages cut to 48 tokens: software rasterizers are slow.
    const batch = shorten(referenceBatch(await readBertDotReference(`${GOLDEN}/golden.json`)), 48);
    for (const backend of ['cpu', 'webgpu'] as const) {
      await initBackend(backend, { quiet: true });
      const model = await loadDistilBert(GOLDEN);
      const adam = new Adam(model.weights);
      const student = bertDotStudent(model);
      losses[backend] = [];
      let tensors = 0;
      for (let step = 0; step < 4; step++) {
        // The trainer's own step (train/step.ts), which reads the loss asynchronously as webgpu needs.
        const { loss, grads } = await stepGradients(student, lossTerms('margin-mse'), batch, 1);
        adam.apply(grads, 1e-3);
        tf.dispose([...grads.values()]);
        losses[backend].push(loss);
        if (step === 1) tensors = tf.memory().numTensors;
      }
      expect(tf.memory().numTensors).toBe(tensors);
      adam.dispose();
      model.dispose();
    }
    expect(losses.webgpu[3]).toBeLessThan(losses.webgpu[0]);
    expect(compare('losses', losses.webgpu, losses.cpu, 1e-3).ok).toBe(true);
  }, 300_000);
});

/** The batch with its passages cut to their first `len` tokens. */
function shorten(b: GroupBatch, len: number): GroupBatch {
  const p = b.passages;
  const cut = (m: Int32Array) => Int32Array.from({ length: p.rows * len }, (_, i) => m[Math.floor(i / len) * p.len + (i % len)]);
  return { ...b, passages: { rows: p.rows, len, ids: cut(p.ids), mask: cut(p.mask) } };
}
