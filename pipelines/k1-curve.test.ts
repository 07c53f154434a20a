import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../common/paths.js';
import { CURVE_STEPS, k1Curve } from './k1-curve.js';

/**
 * K = 1 with margin-mse reproduces the pairwise trainer: the same 50-step run (same generated triples, same
 * batches, tiny DistilBERT on cpu) as recorded by pipelines/k1-curve.ts before the trainer learned groups,
 * loss within 1e-4 relative at every step.
 */
const recorded = JSON.parse(readFileSync(path.join(ROOT, 'pipelines', 'k1-curve.fixture.json'), 'utf8')) as Record<string, number[]>;

describe('K = 1 reproduces the pairwise training run', () => {
  for (const accumulation of [1, 2]) {
    it(`accumulation_steps ${accumulation}: 50 losses within 1e-4 relative of the recorded curve`, async () => {
      const want = recorded[`accumulation_${accumulation}`];
      const got = await k1Curve(accumulation);
      expect(want).toHaveLength(CURVE_STEPS);
      expect(got).toHaveLength(CURVE_STEPS);
      const rel = got.map((x, i) => Math.abs(x - want[i]) / Math.abs(want[i]));
      console.log(`accumulation ${accumulation}: max relative difference over ${CURVE_STEPS} steps ${Math.max(...rel).toExponential(2)}`);
      expect(Math.max(...rel)).toBeLessThanOrEqual(1e-4);
    }, 600_000);
  }
});
