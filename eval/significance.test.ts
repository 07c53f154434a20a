import { describe, expect, it } from 'vitest';
import { incompleteBeta, pairedTTest } from './significance.js';

// Reference values from scipy.stats (ttest_rel and 2 * t.sf), computed once by hand.
describe('pairedTTest', () => {
  it('matches scipy.stats.ttest_rel', () => {
    const a = { q1: 0.5, q2: 0.7, q3: 0.2, q4: 0.9, q5: 0.4 };
    const b = { q1: 0.3, q2: 0.6, q3: 0.25, q4: 0.5, q5: 0.1 };
    const r = pairedTTest(a, b);
    expect(r.n).toBe(5);
    expect(r.t).toBeCloseTo(2.432700718725023, 10);
    expect(r.p).toBeCloseTo(0.07177139073765303, 10);
    expect(pairedTTest(b, a).p).toBeCloseTo(r.p, 12);
  });

  it('gives t-distribution tails that match scipy', () => {
    // two-sided p for (t, df): I_{df/(df+t^2)}(df/2, 1/2)
    const p = (t: number, df: number): number => incompleteBeta(df / (df + t * t), df / 2, 0.5);
    expect(p(2, 10)).toBeCloseTo(0.07338803477074037, 12);
    expect(p(1, 1)).toBeCloseTo(0.5, 12);
    expect(p(3.5, 42)).toBeCloseTo(0.0011158515427998877, 12);
  });

  it('handles identical runs and rejects unpaired inputs', () => {
    expect(pairedTTest({ a: 1, b: 0 }, { a: 1, b: 0 }).p).toBe(1);
    expect(() => pairedTTest({ a: 1, b: 0 }, { a: 1, c: 0 })).toThrow('same queries');
  });
});
