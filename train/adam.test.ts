import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { testBackend } from '../models/engine/testing.js';
import { Adam } from './adam.js';

testBackend();

/** torch.optim.Adam's update in float64, written out for the hand-computed reference. */
function torchAdam(p: number[], gs: number[][], lr: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number[] {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const out = [...p];
  gs.forEach((g, i) => {
    const t = i + 1;
    for (let j = 0; j < p.length; j++) {
      m[j] = b1 * m[j] + (1 - b1) * g[j];
      v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
      const denom = Math.sqrt(v[j]) / Math.sqrt(1 - b2 ** t) + eps;
      out[j] -= (lr / (1 - b1 ** t)) * (m[j] / denom);
    }
  });
  return out;
}

function run(p0: number[], gs: number[][], lr: number): number[] {
  const p = tf.variable(tf.tensor1d(p0));
  const adam = new Adam(new Map([['p', p]]));
  for (const g of gs) tf.tidy(() => adam.apply(new Map([['p', tf.tensor1d(g)]]), lr));
  const out = Array.from(p.dataSync());
  adam.dispose();
  p.dispose();
  return out;
}

describe('Adam', () => {
  it('first step moves each parameter by lr·sign(g) (bias correction)', () => {
    const out = run([1, -2, 0.5], [[3, -0.25, 1e3]], 0.1);
    expect(out[0]).toBeCloseTo(0.9, 6);
    expect(out[1]).toBeCloseTo(-1.9, 6);
    expect(out[2]).toBeCloseTo(0.4, 6);
  });

  it('adds eps after the bias-corrected sqrt: a gradient of 1e-8 moves by lr/2 on step 1', () => {
    // g/(|g|+eps) = 1e-8/(2e-8). With eps inside the sqrt or before bias correction the step would differ.
    const out = run([0], [[1e-8]], 1);
    expect(out[0]).toBeCloseTo(-0.5, 5);
  });

  it('matches the torch formula over several steps with changing gradients', () => {
    const gs = [[0.5, -1, 2e-3], [0.1, 3, -1e-3], [-0.7, 0.2, 4e-3], [0.05, -0.05, 0]];
    const want = torchAdam([0.3, -0.1, 0.02], gs, 1e-2);
    const got = run([0.3, -0.1, 0.02], gs, 1e-2);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(want[i])));
  });

  it('state restored into a fresh optimizer continues bit for bit', () => {
    const gs = [[0.5, -1], [0.1, 3], [-0.7, 0.2], [0.3, 0.3]];
    const a = tf.variable(tf.tensor1d([0.3, -0.1]));
    const adamA = new Adam(new Map([['p', a]]));
    gs.forEach((g) => tf.tidy(() => adamA.apply(new Map([['p', tf.tensor1d(g)]]), 0.01)));

    const b = tf.variable(tf.tensor1d([0.3, -0.1]));
    const adamB = new Adam(new Map([['p', b]]));
    gs.slice(0, 2).forEach((g) => tf.tidy(() => adamB.apply(new Map([['p', tf.tensor1d(g)]]), 0.01)));
    const s = adamB.state();
    const saved = { step: s.step, m: new Map([['p', tf.tensor(s.m.get('p')!.dataSync())]]), v: new Map([['p', tf.tensor(s.v.get('p')!.dataSync())]]) };
    const c = tf.variable(b.clone());
    const adamC = new Adam(new Map([['p', c]]));
    adamC.load(saved);
    gs.slice(2).forEach((g) => tf.tidy(() => adamC.apply(new Map([['p', tf.tensor1d(g)]]), 0.01)));
    expect(adamC.step).toBe(4);
    expect(Array.from(c.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, c, ...saved.m.values(), ...saved.v.values()]);
    [adamA, adamB, adamC].forEach((o) => o.dispose());
  });

  it('rejects state of the wrong shape, naming the parameter', () => {
    const p = tf.variable(tf.zeros([2, 3]));
    const adam = new Adam(new Map([['layer.w', p]]));
    const bad = tf.zeros([3, 2]);
    expect(() => adam.load({ step: 1, m: new Map([['layer.w', bad]]), v: new Map([['layer.w', bad]]) })).toThrow(/layer\.w/);
    tf.dispose([p, bad]);
    adam.dispose();
  });

  it('keeps the number of tensors flat over steps', () => {
    const p = tf.variable(tf.ones([4]));
    const adam = new Adam(new Map([['p', p]]));
    const g = tf.ones([4]);
    adam.apply(new Map([['p', g]]), 0.1);
    const n = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) adam.apply(new Map([['p', g]]), 0.1);
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose([p, g]);
    adam.dispose();
  });
});
