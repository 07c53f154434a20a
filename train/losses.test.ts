import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { testBackend } from '../models/engine/testing.js';
import { LOSS_NAMES, LOSSES, inBatch, kl, marginMse, mse, ranknet } from './losses.js';

testBackend();

const m = (rows: number[][]) => tf.tensor2d(rows);
const val = (f: () => tf.Scalar) => tf.tidy(f).dataSync()[0];

describe('K = 1: the pairwise losses of the paper over S, T [B, 2]', () => {
  // s_pos=[3,1], s_neg=[1,2], t_pos=[10,5], t_neg=[7,5]: student margins [2,-1], teacher margins [3,0].
  const S = () => m([[3, 1], [1, 2]]);
  const T = () => m([[10, 7], [5, 5]]);

  it('margin-mse = mean((Δs - Δt)²) = ((2-3)² + (-1-0)²)/2 = 1', () => {
    expect(val(() => marginMse(S(), T()))).toBeCloseTo(1, 6);
  });

  it('margin-mse ignores a shift of the teacher scores (only margins matter), unlike mse', () => {
    expect(val(() => marginMse(S(), tf.add(T(), 100)))).toBeCloseTo(1, 4);
    expect(val(() => mse(S(), tf.add(T(), 100)))).toBeGreaterThan(1000);
  });

  it('ranknet = mean(softplus(s_neg - s_pos)), teacher-free', () => {
    expect(val(() => ranknet(S()))).toBeCloseTo((Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(1))) / 2, 6);
  });

  it('mse = mean over both columns of (s - t)²', () => {
    // pos: (3-10)²=49, (1-5)²=16; neg: (1-7)²=36, (2-5)²=9 → 110/4
    expect(val(() => mse(S(), T()))).toBeCloseTo(27.5, 5);
  });

  it('gradients of margin-mse by hand: dL/dS[b,0] = 2(Δs - Δt)/B = -dL/dS[b,1]', () => {
    const g = tf.tidy(() => tf.grad((s: tf.Tensor) => marginMse(s as tf.Tensor2D, T()))(S()).arraySync());
    expect(g).toEqual([[-1, 1], [-1, 1]]);
  });

  it('the table: names, what each reads', () => {
    expect(LOSS_NAMES).toEqual(['margin-mse', 'mse', 'ranknet', 'kl', 'in-batch']);
    expect(LOSS_NAMES.filter((n) => LOSSES[n].needsInBatch)).toEqual(['in-batch']);
    expect(LOSS_NAMES.filter((n) => !LOSSES[n].needsTeacher)).toEqual(['ranknet', 'in-batch']);
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
    expect(() => LOSSES.kl.fn({ S: m([[1, 2]]) }, { tau: 1 })).toThrow(/teacher scores/);
  });
});
