import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend.js';
import { broadcastIndex } from './wasm-matmul.js';
import { scatterAdd } from './segment-sum.js';

/** Runs `f` on `backend` and returns plain arrays, so results from two backends can be compared. */
async function on(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await initBackend(backend as 'cpu' | 'wasm', { quiet: true });
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const values = list.map((t) => t.dataSync() as Float32Array);
  tf.dispose(list);
  return values;
}

function broadcastShape(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const pad = (s: number[]) => [...Array(n - s.length).fill(1), ...s];
  return pad(a).map((d, i) => Math.max(d, pad(b)[i]));
}

function expectClose(got: Float32Array, want: Float32Array, rel = 1e-5): void {
  expect(got.length).toBe(want.length);
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThanOrEqual(rel * Math.max(scale, 1));
}

/** A seeded random tensor, built on the cpu side as plain values so both backends get the same numbers. */
function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

describe('scatterAdd', () => {
  it('sums rows into their segments, repeats accumulate, out-of-range ids are dropped', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]); // [4, 2]
    const out = new Float32Array(6); // [3, 2]
    scatterAdd(x, new Int32Array([2, 0, 2, 5]), 2, out, 3);
    expect(Array.from(out)).toEqual([3, 4, 0, 0, 1 + 5, 2 + 6]);
  });
});

describe('broadcastIndex', () => {
  it('maps output batch indices onto broadcast operands (numpy rules)', () => {
    // out [2, 3]; operand [1, 3] ignores the first coordinate; operand [2, 1] ignores the second; [3] right-aligns.
    expect([0, 1, 2, 3, 4, 5].map((i) => broadcastIndex(i, [2, 3], [1, 3]))).toEqual([0, 1, 2, 0, 1, 2]);
    expect([0, 1, 2, 3, 4, 5].map((i) => broadcastIndex(i, [2, 3], [2, 1]))).toEqual([0, 0, 0, 1, 1, 1]);
    expect([0, 1, 2, 3, 4, 5].map((i) => broadcastIndex(i, [2, 3], [3]))).toEqual([0, 1, 2, 0, 1, 2]);
    expect([0, 1, 2, 3, 4, 5].map((i) => broadcastIndex(i, [2, 3], []))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('UnsortedSegmentSum', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`${backend}: matches a hand-computed scatter-add, float and int`, async () => {
      const [f, i] = await on(backend, () => [
        tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([1, 1, 3], 'int32'), 4),
        tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([0, 2, 0], 'int32'), 3),
      ]);
      expect(Array.from(f)).toEqual([0, 0, 4, 6, 0, 0, 5, 6]);
      expect(Array.from(i)).toEqual([4, 0, 2]);
    });

    it(`${backend}: the gradient of an embedding lookup over a 30522-row vocabulary`, async () => {
      const ids = [5, 30521, 5, 17];
      const [g] = await on(backend, () => {
        const table = tf.zeros([30522, 3]);
        const dy = tf.tensor2d([[1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4, 4]]);
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(ids, 'int32')), dy)))(table);
      });
      expect(g.length).toBe(30522 * 3);
      expect(Array.from(g.slice(5 * 3, 6 * 3))).toEqual([4, 4, 4]);
      expect(Array.from(g.slice(17 * 3, 18 * 3))).toEqual([4, 4, 4]);
      expect(Array.from(g.slice(30521 * 3))).toEqual([2, 2, 2]);
      expect(g.reduce((s, v) => s + v, 0)).toBe(3 * (1 + 2 + 3 + 4));
    });
  }
});

describe('wasm BatchMatMul matches cpu', () => {
  const cases: { a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [
    { a: [5, 7], b: [7, 3], tA: false, tB: false },
    { a: [7, 5], b: [7, 3], tA: true, tB: false },
    { a: [5, 7], b: [3, 7], tA: false, tB: true },
    { a: [7, 5], b: [3, 7], tA: true, tB: true },
    { a: [4, 6, 9], b: [4, 9, 5], tA: false, tB: false },
    { a: [4, 9, 6], b: [4, 5, 9], tA: true, tB: true },
    { a: [2, 3, 6, 8], b: [2, 3, 6, 5], tA: true, tB: false }, // attention backward: dK = Qᵀ·dS
    { a: [2, 3, 6, 8], b: [2, 3, 10, 8], tA: false, tB: true }, // attention scores: Q·Kᵀ
    { a: [3, 6, 8], b: [8, 5], tA: false, tB: false }, // b shared: one tall product
    { a: [3, 6, 8], b: [1, 5, 8], tA: false, tB: true }, // b shared after its transpose
    { a: [1, 6, 8], b: [3, 8, 5], tA: false, tB: false }, // a shared
    { a: [2, 1, 6, 8], b: [3, 8, 5], tA: false, tB: false }, // both broadcast: out [2, 3, 6, 5]
    { a: [3, 1, 8, 6], b: [1, 4, 5, 8], tA: true, tB: true }, // both broadcast and transposed
    { a: [1, 1], b: [1, 1], tA: false, tB: false },
    { a: [20, 9], b: [20, 2], tA: true, tB: false }, // weight gradient, cheaper as (Bᵀ A)ᵀ
    { a: [1, 20, 9], b: [4, 20], tA: true, tB: true }, // both transposed: (B A)ᵀ
    { a: [9, 20], b: [2, 20], tA: false, tB: true },
  ];
  for (const [n, c] of cases.entries()) {
    it(`[${c.a}]${c.tA ? 'ᵀ' : ''} x [${c.b}]${c.tB ? 'ᵀ' : ''}`, async () => {
      const f = () => tf.matMul(rand(c.a, 10 + n), rand(c.b, 100 + n), c.tA, c.tB);
      // The reference broadcasts the outer dims explicitly: the stock cpu kernel only broadcasts a batch of 1.
      const outer = broadcastShape(c.a.slice(0, -2), c.b.slice(0, -2));
      const full = (x: tf.Tensor) => tf.broadcastTo(x, [...outer, ...x.shape.slice(-2)]);
      const reference = () => tf.matMul(full(rand(c.a, 10 + n)), full(rand(c.b, 100 + n)), c.tA, c.tB);
      const [want] = await on('cpu', reference);
      const [got] = await on('wasm', f);
      expectClose(got, want);
    });
  }

  it('gradients of a batched, transposed product match cpu', async () => {
    const f = () => {
      const w = rand([3, 5, 6], 3);
      const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b, false, true), w));
      return tf.grads(loss)([rand([3, 5, 4], 1), rand([3, 6, 4], 2)]);
    };
    const want = await on('cpu', f);
    const got = await on('wasm', f);
    expectClose(got[0], want[0]);
    expectClose(got[1], want[1]);
  });

  it('does not reuse stale XNNPACK weights across slices or calls', async () => {
    // Each slice of b differs; a cached packed operator keyed by a reused buffer would repeat slice 0.
    const [got] = await on('wasm', () => tf.matMul(tf.ones([3, 1, 2]), tf.tensor3d([[[1], [1]], [[2], [2]], [[3], [3]]])));
    expect(Array.from(got)).toEqual([2, 4, 6]);
    const [again] = await on('wasm', () => tf.matMul(tf.ones([3, 1, 2]), tf.tensor3d([[[4], [4]], [[5], [5]], [[6], [6]]])));
    expect(Array.from(again)).toEqual([8, 10, 12]);
  });
});

describe('wasm Identity shares memory', () => {
  it('a clone outlives its source and frees the memory with the last reference', async () => {
    await initBackend('wasm', { quiet: true });
    const before = tf.memory().numBytes;
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
    expect(tf.memory().numBytes).toBe(before);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(tf.memory().numTensors);
  });
});
