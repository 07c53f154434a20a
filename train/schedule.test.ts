import { describe, expect, it } from 'vitest';
import { lrAt } from './schedule.js';

describe('schedule', () => {
  const base = { lr: 1, min_lr_ratio: 0, warmup_steps: 0, schedule: 'constant' as const };
  it('warms up linearly, then holds constant', () => {
    const o = { ...base, warmup_steps: 4 };
    expect([1, 2, 4, 5, 100].map((s) => lrAt(s, o))).toEqual([0.25, 0.5, 1, 1, 1]);
  });
  it('cosine decays from lr to the floor at total_steps', () => {
    const o = { ...base, schedule: 'cosine' as const, warmup_steps: 10, total_steps: 110, min_lr_ratio: 0.1 };
    expect(lrAt(10, o)).toBeCloseTo(1, 12);
    expect(lrAt(60, o)).toBeCloseTo(0.1 + 0.9 * 0.5, 12);
    expect(lrAt(110, o)).toBeCloseTo(0.1, 12);
    expect(lrAt(500, o)).toBeCloseTo(0.1, 12);
  });
  it('cosine without total steps is an error', () => {
    expect(() => lrAt(5, { ...base, schedule: 'cosine' })).toThrow(/total_steps/);
  });
});
