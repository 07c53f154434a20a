import { describe, expect, it } from 'vitest';
import { addStep, openWindow, windowRow } from './metrics-window.js';

describe('metrics window', () => {
  it('a row is the mean loss, the mean of each term, and the step and triple rates since the window opened', () => {
    let w = openWindow(1_000);
    for (const loss of [3, 2, 1, 2]) w = addStep(w, loss, { margin_mse: loss - 1, in_batch_scale1: 10 * loss }, 8);
    const row = windowRow(w, { step: 40, lr: 1e-3, gradNorm: 0.5, skipped: 1 }, 3_000); // 4 steps, 32 triples in 2 s
    expect(row).toEqual({ step: 40, loss: 2, terms: { margin_mse: 1, in_batch_scale1: 20 }, lr: 1e-3, grad_norm: 0.5, steps_per_s: 2, triples_per_s: 16, skipped: 1 });
    expect(Object.keys(row)).toEqual(['step', 'loss', 'terms', 'lr', 'grad_norm', 'steps_per_s', 'triples_per_s', 'skipped']);
  });

  it('a new window starts empty and adding does not modify the old one', () => {
    const w = openWindow(0);
    const w1 = addStep(w, 5, { kl_tau1: 5 }, 4);
    expect(w).toEqual({ loss: 0, terms: {}, steps: 0, triples: 0, since: 0 });
    expect(w1).toEqual({ loss: 5, terms: { kl_tau1: 5 }, steps: 1, triples: 4, since: 0 });
  });
});
