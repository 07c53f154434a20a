import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../models/engine/backend.js';
import { Adam } from './adam.js';

/**
 * Adam's update frees its intermediates as it goes. It must compute exactly what the one-expression form
 * computes (resume and the goldens rely on it), and hold at most two full-size temporaries at any time.
 */
function oneExpression(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, step: number, lr: number) {
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / (1 - beta1 ** step);
  return tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
    const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
    const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), eps);
    return [tf.sub(p, tf.mul(tf.div(m1, denom), stepSize)), m1, v1];
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`Adam update on ${backend}`, () => {
    it('is bit-identical to the one-expression update over several steps', async () => {
      await initBackend(backend, { quiet: true });
      const shape = [37, 11];
      const p = tf.variable(tf.randomNormal(shape, 0, 1, 'float32', 1));
      const adam = new Adam(new Map([['w', p]]));
      let [rp, rm, rv]: tf.Tensor[] = [p.clone(), tf.zeros(shape), tf.zeros(shape)];
      for (let step = 1; step <= 4; step++) {
        const g = tf.randomNormal(shape, 0, step === 2 ? 1e-6 : 1, 'float32', 10 + step);
        adam.apply(new Map([['w', g]]), 1e-3);
        const next = oneExpression(rp, rm, rv, g, step, 1e-3);
        tf.dispose([rp, rm, rv, g]);
        [rp, rm, rv] = next;
      }
      const { m, v } = adam.state();
      expect(Array.from(p.dataSync())).toEqual(Array.from(rp.dataSync()));
      expect(Array.from(m.get('w')!.dataSync())).toEqual(Array.from(rm.dataSync()));
      expect(Array.from(v.get('w')!.dataSync())).toEqual(Array.from(rv.dataSync()));
      tf.dispose([rp, rm, rv, p]);
      adam.dispose();
    });

    it('holds at most two full-size temporaries beside the parameter, its moments and gradient', async () => {
      await initBackend(backend, { quiet: true });
      const n = 100_000;
      const p = tf.variable(tf.randomNormal([n], 0, 1, 'float32', 2));
      const g = tf.randomNormal([n], 0, 1, 'float32', 3);
      const adam = new Adam(new Map([['w', p]]));
      const start = tf.memory().numBytes;
      const info = await tf.profile(() => adam.apply(new Map([['w', g]]), 1e-3));
      // tfjs's accounting counts a variable's new value and the variable itself until the value is released.
      expect(info.peakBytes - start).toBeLessThanOrEqual(2 * 4 * n + 1024);
      expect(tf.memory().numBytes).toBe(start);
      tf.dispose([p, g]);
      adam.dispose();
    });
  });
}
