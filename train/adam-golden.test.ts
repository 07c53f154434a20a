import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import type { GroupBatch } from '../data/batch.js';
import { collateGroups } from '../data/collate.js';
import { testBackend } from '../models/engine/testing.js';
import { loadDistilBert } from '../models/weights/hf.js';
import { Adam } from './adam.js';
import { globalNorm } from './clip.js';
import { dotScores, encodeGroups } from '../models/bert-dot.js';
import { bertDotStudent } from './bert-dot-student.js';
import { lossTerms } from './loss-terms.js';
import { marginMse } from './losses.js';
import { stepGradients } from './step.js';

/** One Margin-MSE training step of the tiny DistilBERT against what PyTorch computed (torch.optim.Adam). */
const DIR = sharedPath('goldens', 'distilbert-tiny');
const golden = JSON.parse(readFileSync(`${DIR}/golden.json`, 'utf8'));

/** The golden's triples as a group batch (K = 1). */
function goldenBatch(): GroupBatch {
  const part = (p: { input_ids: number[][]; attention_mask: number[][] }) => ({
    rows: p.input_ids.length,
    len: p.input_ids[0].length,
    ids: Int32Array.from(p.input_ids.flat()),
    mask: Int32Array.from(p.attention_mask.flat()),
  });
  return collateGroups(part(golden.query), [part(golden.pos), part(golden.neg)], [golden.teacher_pos, golden.teacher_neg]);
}

const close = (got: number, want: number, rel: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.max(Math.abs(want), 1e-2));

// wasm: the golden's 200-token passages take several times longer on the pure-JS cpu backend.
testBackend('wasm');

describe('Adam step on the distilbert-tiny golden', () => {
  it('loss, gradient norm, parameters after one torch.optim.Adam step and the loss after it', async () => {
    const model = await loadDistilBert(DIR);
    const student = bertDotStudent(model);
    const batch = goldenBatch();
    const { loss, grads } = await stepGradients(student, lossTerms('margin-mse'), batch, 1);
    close(loss, golden.loss, 1e-4);
    close(await globalNorm(grads), golden.grad_global_norm, 1e-3);

    const { lr, beta1, beta2, eps } = golden.adam;
    const initial = new Map([...student.params].map(([k, v]) => [k, Array.from(v.dataSync().subarray(0, 8))]));
    const adam = new Adam(student.params, { beta1, beta2, eps });
    adam.apply(grads, lr);
    tf.dispose([...grads.values()]);

    const samples = golden.after_adam_step.param_samples as Record<string, number[]>;
    expect(Object.keys(samples)).toHaveLength(36);
    let checked = 0;
    for (const [name, want] of Object.entries(samples)) {
      const got = student.params.get(name)!.dataSync().subarray(0, want.length);
      if (name.endsWith('attention.k_lin.bias')) {
        // The key bias's true gradient is 0 (q·(k+b) adds the same q·b to every key of a query, and softmax
        // ignores it): both frameworks see rounding noise, which Adam scales to up to ±lr. Only that bound holds.
        const before = initial.get(name)!;
        want.forEach((_, i) => expect(Math.abs(got[i] - before[i])).toBeLessThanOrEqual(lr * 1.0001));
        continue;
      }
      want.forEach((w, i) => close(got[i], w, 1e-4));
      checked++;
    }
    expect(checked).toBe(34);
    const after = tf.tidy(() => {
      const { q, p } = encodeGroups(student, batch);
      return marginMse(dotScores(q, p, 2, false).S, tf.tensor2d(batch.teacher, [batch.size, 2])).dataSync()[0];
    });
    close(after, golden.after_adam_step.loss, 1e-3);
    adam.dispose();
    model.dispose();
  });
});
