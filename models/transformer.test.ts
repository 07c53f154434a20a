import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { testBackend } from './engine/testing.js';
import { additiveMask, encoderStack, gelu, layerNorm, linear, type LayerWeights } from './transformer.js';

testBackend();

describe('transformer building blocks', () => {
  it('linear uses the torch [out, in] layout', () => {
    // W = [[1, 2], [3, 4], [5, 6]] ([out 3, in 2]), b = [1, 0, -1]; x = [1, 1] → [4, 7, 10]
    const y = tf.tidy(() => linear(tf.tensor2d([[1, 1]]), { weight: tf.tensor2d([[1, 2], [3, 4], [5, 6]]), bias: tf.tensor1d([1, 0, -1]) }).arraySync());
    expect(y).toEqual([[4, 7, 10]]);
  });

  it('layerNorm normalizes with the biased variance', () => {
    // x = [1, 2, 3, 4]: mean 2.5, biased var 1.25 → (x - 2.5)/sqrt(1.25)
    const y = tf.tidy(() => layerNorm(tf.tensor2d([[1, 2, 3, 4]]), { weight: tf.fill([4], 2), bias: tf.fill([4], 1) }).dataSync());
    const want = [1, 2, 3, 4].map((x) => (2 * (x - 2.5)) / Math.sqrt(1.25) + 1);
    for (let i = 0; i < 4; i++) expect(y[i]).toBeCloseTo(want[i], 5);
  });

  it('gelu is the erf form (not the tanh approximation)', () => {
    // torch.nn.functional.gelu(torch.tensor([-1., 0., 1., 2.])) = [-0.158655, 0, 0.841345, 1.954500]
    const y = tf.tidy(() => gelu(tf.tensor1d([-1, 0, 1, 2])).dataSync());
    const want = [-0.15865525, 0, 0.84134475, 1.95449974];
    for (let i = 0; i < 4; i++) expect(y[i]).toBeCloseTo(want[i], 5);
  });

  it('padded positions do not change the unpadded outputs', () => {
    const dim = 8;
    const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 0.3, 'float32', seed);
    const lin = (o: number, i: number, s: number) => ({ weight: rand([o, i], s), bias: rand([o], s + 1) });
    const norm = { weight: tf.ones([dim]), bias: tf.zeros([dim]) };
    const w: LayerWeights = {
      query: lin(dim, dim, 1), key: lin(dim, dim, 3), value: lin(dim, dim, 5), attnOut: lin(dim, dim, 7),
      attnNorm: norm, ffnIn: lin(16, dim, 9), ffnOut: lin(dim, 16, 11), outNorm: norm,
    };
    const before = tf.memory().numTensors;
    const [a, b] = tf.tidy(() => {
      const x = rand([1, 5, dim], 13); // [b, L, dim]; positions 3, 4 are padding
      const other = tf.concat([tf.slice(x, [0, 0, 0], [1, 3, dim]), rand([1, 2, dim], 17)], 1);
      const mask = tf.tensor2d([[1, 1, 1, 0, 0]], [1, 5], 'int32');
      const keep = (h: tf.Tensor) => tf.slice(h, [0, 0, 0], [1, 3, dim]).dataSync();
      return [keep(encoderStack(x, mask, [w, w], 2)), keep(encoderStack(other, mask, [w, w], 2))];
    });
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 6);
    // and the mask is a -1e9 bias on padded keys only
    expect(tf.tidy(() => additiveMask(tf.tensor2d([[1, 0]], [1, 2], 'int32')).arraySync())).toEqual([[[[0, -1e9]]]]);
    tf.dispose(Object.values(w).flatMap((p) => [p.weight, p.bias]));
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });
});
