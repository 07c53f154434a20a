import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { testBackend } from '../models/engine/testing.js';
import { clipByGlobalNorm, globalNorm } from './clip.js';

testBackend();

describe('clip_grad_norm', () => {
  it('scales to max norm when above it, like torch (coef = max/(norm+1e-6))', async () => {
    const grads = new Map<string, tf.Tensor>([['a', tf.tensor1d([3, 0])], ['b', tf.tensor1d([4])]]);
    const total = await globalNorm(grads);
    expect(total).toBeCloseTo(5, 6);
    const { grads: out, norm, clipped } = clipByGlobalNorm(grads, 1, total);
    expect(norm).toBeCloseTo(5, 6);
    expect(clipped).toBe(true);
    expect(out.get('a')!.dataSync()[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    expect(out.get('b')!.dataSync()[0]).toBeCloseTo(4 / (5 + 1e-6), 6);
    const same = clipByGlobalNorm(grads, 10, total);
    expect(same.clipped).toBe(false);
    expect(same.grads.get('a')).toBe(grads.get('a'));
    tf.dispose([...grads.values(), ...out.values()]);
  });
  it('reports a non-finite norm for NaN gradients', async () => {
    const grads = new Map<string, tf.Tensor>([['a', tf.tensor1d([NaN, 1])]]);
    expect(Number.isFinite(await globalNorm(grads))).toBe(false);
    tf.dispose([...grads.values()]);
  });
});
