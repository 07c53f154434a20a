import type { MetricsRow } from './metrics.js';

/** Loss, its terms and throughput summed since the last metrics row (one row every `train.log_every` steps). */
export interface MetricsWindow {
  loss: number;
  /** Each loss term's (unweighted) value by key (`margin_mse`, `in_batch_scale20`, ...). */
  terms: Record<string, number>;
  steps: number;
  triples: number;
  /** When the window opened (ms, Date.now()). */
  since: number;
}

export const openWindow = (now: number): MetricsWindow => ({ loss: 0, terms: {}, steps: 0, triples: 0, since: now });

/** The window after one more optimizer step (`triples`: the step's training examples, triples or groups). */
export const addStep = (w: MetricsWindow, loss: number, terms: Record<string, number>, triples: number): MetricsWindow => ({
  ...w,
  loss: w.loss + loss,
  terms: Object.fromEntries(Object.entries(terms).map(([k, v]) => [k, (w.terms[k] ?? 0) + v])),
  steps: w.steps + 1,
  triples: w.triples + triples,
});

/** The metrics.jsonl row of a window closed at `now`: mean loss and terms, steps/s and triples/s over it. Pure. */
export function windowRow(w: MetricsWindow, at: { step: number; lr: number; gradNorm: number; skipped: number }, now: number): MetricsRow {
  const secs = Math.max((now - w.since) / 1000, 1e-9);
  return {
    step: at.step, loss: w.loss / w.steps,
    terms: Object.fromEntries(Object.entries(w.terms).map(([k, v]) => [k, v / w.steps])),
    lr: at.lr, grad_norm: at.gradNorm,
    steps_per_s: w.steps / secs, triples_per_s: w.triples / secs, skipped: at.skipped,
  };
}
