import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { testBackend } from '../models/engine/testing.js';
import { LOSSES, marginMse, pointwiseMse, ranknet } from './losses.js';

testBackend();

const t = (xs: number[]) => tf.tensor1d(xs);
const val = (s: tf.Scalar) => {
  const v = s.dataSync()[0];
  s.dispose();
  return v;
};

describe('losses', () => {
  // sPos=[3,1], sNeg=[1,2], tPos=[10,5], tNeg=[7,5]: student margins [2,-1], teacher margins [3,0].
  const args = () => [t([3, 1]), t([1, 2]), t([10, 5]), t([7, 5])] as const;

  it('margin-mse = mean((Δs - Δt)²) = ((2-3)² + (-1-0)²)/2 = 1', () => {
    const a = args();
    expect(val(marginMse(...a))).toBeCloseTo(1, 6);
    tf.dispose([...a]);
  });

  it('margin-mse ignores a shift of the teacher scores (only margins matter), unlike mse', () => {
    const a = args();
    const shifted = [a[0], a[1], tf.add(a[2], 100), tf.add(a[3], 100)] as unknown as typeof a;
    expect(val(marginMse(...shifted))).toBeCloseTo(1, 4);
    expect(val(pointwiseMse(...shifted))).toBeGreaterThan(1000);
    tf.dispose([...a, shifted[2], shifted[3]]);
  });

  it('ranknet = mean(softplus(s_neg - s_pos)), teacher-free', () => {
    const a = args();
    const want = (Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(1))) / 2;
    expect(val(ranknet(...a))).toBeCloseTo(want, 6);
    expect(val(ranknet(a[0], a[1], t([NaN, NaN]), t([NaN, NaN])))).toBeCloseTo(want, 6);
    tf.dispose([...a]);
  });

  it('mse = mean over both halves of (s - t)²', () => {
    const a = args();
    // pos: (3-10)²=49, (1-5)²=16; neg: (1-7)²=36, (2-5)²=9 → 110/4
    expect(val(pointwiseMse(...a))).toBeCloseTo(27.5, 5);
    tf.dispose([...a]);
  });

  it('names and teacher needs', () => {
    expect(Object.keys(LOSSES).sort()).toEqual(['margin-mse', 'mse', 'ranknet']);
    expect(Object.fromEntries(Object.entries(LOSSES).map(([name, l]) => [name, l.needsTeacher]))).toEqual({ 'margin-mse': true, ranknet: false, mse: true });
    expect([LOSSES['margin-mse'].fn, LOSSES.ranknet.fn, LOSSES.mse.fn]).toEqual([marginMse, ranknet, pointwiseMse]);
  });
});
