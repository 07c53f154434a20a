import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../common/rng.js';
import { initBackend } from '../models/engine/backend.js';
import { GROUP_LOSS_NAMES, GROUP_LOSSES, inBatch, kl, marginMse, mse, ranknet } from './group-losses.js';
import { LOSSES } from './losses.js';

beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
});

const m = (rows: number[][]) => tf.tensor2d(rows);
const val = (f: () => tf.Scalar) => tf.tidy(f).dataSync()[0];

describe('K = 1 reproduces the pairwise losses of train/losses.ts', () => {
  const r = rng(7);
  const B = 16;
  const col = (scale: number) => Array.from({ length: B }, () => scale * (r() - 0.5));
  const [sPos, sNeg, tPos, tNeg] = [col(10), col(10), col(20), col(20)];
  const pairs = (a: number[], b: number[]) => a.map((x, i) => [x, b[i]]);

  for (const name of ['margin-mse', 'mse', 'ranknet'] as const) {
    it(`${name}: same value and gradients`, () => {
      const [old, ours] = tf.tidy(() => {
        const v = [sPos, sNeg, tPos, tNeg].map((x) => tf.tensor1d(x)) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const oldLoss = tf.valueAndGrads((p: tf.Tensor, n: tf.Tensor) => LOSSES[name].fn(p as tf.Tensor1D, n as tf.Tensor1D, v[2], v[3]));
        const o = oldLoss([v[0], v[1]]);
        const T = m(pairs(tPos, tNeg));
        const g = tf.valueAndGrad((S: tf.Tensor) => GROUP_LOSSES[name].fn({ S: S as tf.Tensor2D, T }, {}))(m(pairs(sPos, sNeg)));
        // Pairwise gradients as [B, 2] columns (positive, negative), the group layout.
        return [
          [o.value.dataSync()[0], ...tf.stack(o.grads, 1).dataSync()],
          [g.value.dataSync()[0], ...g.grad.dataSync()],
        ];
      });
      if (name === 'mse') {
        // Same terms, summed in another order (positives then negatives vs row by row): equal to float rounding.
        ours.forEach((x, i) => expect(Math.abs(x - old[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(old[i]))));
      } else {
        expect(ours).toEqual(old); // the same float operations in the same order: bit for bit
      }
    });
  }

  it('the table keeps the pairwise losses and their teacher needs', () => {
    for (const name of Object.keys(LOSSES) as (keyof typeof LOSSES)[]) expect(GROUP_LOSSES[name].needsTeacher).toBe(LOSSES[name].needsTeacher);
    expect(GROUP_LOSS_NAMES).toEqual(['margin-mse', 'mse', 'ranknet', 'kl', 'in-batch']);
    expect(GROUP_LOSS_NAMES.filter((n) => GROUP_LOSSES[n].needsInBatch)).toEqual(['in-batch']);
    expect(GROUP_LOSS_NAMES.filter((n) => !GROUP_LOSSES[n].needsTeacher)).toEqual(['ranknet', 'in-batch']);
  });
});

describe('groups of K > 1, by hand', () => {
  // One query, positive and two negatives: student margins [1, 3], teacher margins [2, 2].
  const S = () => m([[4, 3, 1]]);
  const T = () => m([[9, 7, 7]]);

  it('margin-mse is the mean over every positive-negative pair', () => {
    expect(val(() => marginMse(S(), T()))).toBeCloseTo(((1 - 2) ** 2 + (3 - 2) ** 2) / 2, 6);
  });

  it('mse is the mean over every passage; ranknet the mean softplus over every pair', () => {
    expect(val(() => mse(S(), T()))).toBeCloseTo((25 + 16 + 36) / 3, 5);
    expect(val(() => ranknet(S()))).toBeCloseTo((Math.log1p(Math.exp(-1)) + Math.log1p(Math.exp(-3))) / 2, 6);
  });

  it('kl: tau² · Σ p_t log(p_t / p_s), zero for equal distributions, blind to a per-query shift', () => {
    const soft = (x: number[], tau: number) => {
      const e = x.map((v) => Math.exp(v / tau));
      const z = e.reduce((a, b) => a + b);
      return e.map((v) => v / z);
    };
    for (const tau of [1, 3]) {
      const pt = soft([9, 7, 7], tau);
      const ps = soft([4, 3, 1], tau);
      const want = tau * tau * pt.reduce((a, p, j) => a + p * Math.log(p / ps[j]), 0);
      expect(val(() => kl(S(), T(), tau))).toBeCloseTo(want, 6);
    }
    expect(val(() => kl(m([[1, 2, 3], [0, 0, 5]]), m([[11, 12, 13], [-4, -4, 1]]), 2))).toBeCloseTo(0, 6);
    // A teacher probability that underflows to 0 contributes 0, not NaN.
    expect(Number.isFinite(val(() => kl(S(), m([[0, -1e4, 0]]), 1)))).toBe(true);
  });

  it('in-batch: cross-entropy at column b·G over every passage of the batch', () => {
    // B = 2, G = 2: columns q0-pos, q0-neg, q1-pos, q1-neg.
    const M = [
      [3, 1, 0, 2],
      [1, 0, 4, 2],
    ];
    const ce = (row: number[], at: number, s: number) => Math.log(row.reduce((a, v) => a + Math.exp(s * v), 0)) - s * row[at];
    for (const scale of [1, 0.5]) expect(val(() => inBatch(m(M), scale))).toBeCloseTo((ce(M[0], 0, scale) + ce(M[1], 2, scale)) / 2, 6);
    // One query: only its own group, the softmax cross-entropy of its positive.
    expect(val(() => inBatch(m([[2, 0, 1]]), 1))).toBeCloseTo(ce([2, 0, 1], 0, 1), 6);
  });

  it('a group without negatives or an M of the wrong width is an error, not a silent number', () => {
    expect(() => marginMse(m([[1], [2]]), m([[1], [2]]))).toThrow(/K >= 1/);
    expect(() => inBatch(m([[1, 2, 3], [4, 5, 6]]), 1)).toThrow(/\[B, B \* G\]/);
    expect(() => GROUP_LOSSES.kl.fn({ S: m([[1, 2]]) }, { tau: 1 })).toThrow(/teacher scores/);
  });
});
