import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../common/rng.js';
import { initBackend } from '../models/engine/backend.js';
import { DistilBert } from '../models/distilbert.js';
import type { GroupBatch } from '../data/batch.js';
import type { Padded } from '../data/collate.js';
import { bertDotStudent } from './bert-dot-student.js';
import { gradCache, type StepGradients } from './grad-cache.js';
import { LossConfig, lossTerms } from './loss-terms.js';
import { microRanges } from './micro-batches.js';
import { accumulate, repsLoss, stepGradients } from './step.js';
import type { Student } from './student.js';
import { VOCAB } from './testing.js';

/**
 * GradCache against one big batch on a tiny random DistilBERT (cpu): same loss, same per-term values, same
 * parameter gradients to float tolerance, however the batch is cut into micro-batches.
 */
let model: DistilBert;
let encoder: Student;

beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
  model = DistilBert.random({ vocab_size: VOCAB, max_position_embeddings: 32, dim: 16, n_layers: 2, n_heads: 2, hidden_dim: 32 }, 5);
  encoder = bertDotStudent(model);
});
afterAll(() => model.dispose());

/** B queries with groups of G passages of random lengths (padded to the longest) and random teacher scores. */
function randomGroups(seed: number, B: number, G: number): GroupBatch {
  const r = rng(seed);
  const rows = (n: number, min: number, max: number): Padded => {
    const lens = Array.from({ length: n }, () => min + Math.floor(r() * (max - min + 1)));
    const len = Math.max(...lens);
    const ids = new Int32Array(n * len);
    const mask = new Int32Array(n * len);
    lens.forEach((l, i) => {
      for (let j = 0; j < l; j++) ids[i * len + j] = 1 + Math.floor(r() * (VOCAB - 1));
      mask.fill(1, i * len, i * len + l);
    });
    return { rows: n, len, ids, mask };
  };
  const teacher = Float32Array.from({ length: B * G }, (_, i) => (i % G === 0 ? 5 : 0) + 4 * (r() - 0.5));
  return { size: B, group: G, queries: rows(B, 2, 5), passages: rows(B * G, 3, 9), teacher, hasTeacher: true };
}

const terms = (v: unknown) => lossTerms(LossConfig.parse(v));

/** Relative difference of two gradient maps: per parameter max |a - b| / max(max |b|, 1e-3 · the largest |b| of all). */
function gradDiff(a: Map<string, tf.Tensor>, b: Map<string, tf.Tensor>): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  const values = new Map([...b].map(([k, t]) => [k, t.dataSync()]));
  let top = 0;
  for (const v of values.values()) for (const x of v) top = Math.max(top, Math.abs(x));
  expect(top).toBeGreaterThan(0);
  let worst = 0;
  for (const [k, t] of a) {
    const got = t.dataSync();
    const want = values.get(k)!;
    let scale = 1e-3 * top;
    let diff = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]));
      diff = Math.max(diff, Math.abs(got[i] - want[i]));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const dispose = (...steps: Pick<StepGradients, 'grads'>[]) => steps.forEach((s) => tf.dispose([...s.grads.values()]));

describe('GradCache', () => {
  it('in-batch + margin-mse: the loss, terms and gradients of one big batch, for 2, 3 and 4 micro-batches', async () => {
    const batch = randomGroups(1, 4, 3);
    const mix = terms([{ name: 'margin-mse' }, { name: 'in-batch', weight: 0.5 }]);
    const before = tf.memory().numTensors;
    const big = await stepGradients(encoder, mix, batch, 1);
    expect(Object.keys(big.terms)).toEqual(['margin_mse', 'in_batch_scale1']);
    expect(big.loss).toBeCloseTo(big.terms.margin_mse + 0.5 * big.terms.in_batch_scale1, 4);
    for (const micro of [2, 3, 4]) {
      const gc = await stepGradients(encoder, mix, batch, micro); // in-batch with micro-batches: GradCache
      expect(rel(gc.loss, big.loss), `loss, ${micro} micro-batches`).toBeLessThan(1e-5);
      for (const k of Object.keys(big.terms)) expect(rel(gc.terms[k], big.terms[k]), k).toBeLessThan(1e-5);
      const d = gradDiff(gc.grads, big.grads);
      expect(d, `gradients, ${micro} micro-batches`).toBeLessThan(1e-4);
      console.log(`in-batch + margin-mse, ${micro} micro-batches: loss rel ${rel(gc.loss, big.loss).toExponential(1)}, grads rel ${d.toExponential(1)}`);
      dispose(gc);
    }
    // Plain accumulation would see only each micro-batch's passages as negatives: a different loss. (So the
    // equality above is GradCache's doing, not a batch too easy to tell apart.)
    const plain = await accumulate(encoder, mix, batch, microRanges(4, 2));
    expect(rel(plain.terms.in_batch_scale1, big.terms.in_batch_scale1)).toBeGreaterThan(1e-2);
    dispose(big, plain);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('pure margin-mse (no in-batch term): GradCache equals plain accumulation and the big batch', async () => {
    const batch = randomGroups(2, 4, 5);
    const mm = terms('margin-mse');
    const big = await stepGradients(encoder, mm, batch, 1);
    const plain = await stepGradients(encoder, mm, batch, 2); // no in-batch term: plain accumulation
    const gc = await gradCache(encoder, batch, (q, p) => repsLoss(mm, q, p, batch), microRanges(4, 2));
    for (const s of [plain, gc]) {
      expect(rel(s.loss, big.loss)).toBeLessThan(1e-5);
      expect(gradDiff(s.grads, big.grads)).toBeLessThan(1e-4);
    }
    expect(rel(gc.loss, plain.loss)).toBeLessThan(1e-5);
    const d = gradDiff(gc.grads, plain.grads);
    expect(d).toBeLessThan(1e-4);
    console.log(`margin-mse, 2 micro-batches: GradCache vs plain accumulation loss rel ${rel(gc.loss, plain.loss).toExponential(1)}, grads rel ${d.toExponential(1)}`);
    dispose(big, plain, gc);
  });
});
