import { Rng } from '../common/rng.js';

/**
 * Test data for eval's tests (no test runs here; the stand-in encoder is models/testing.ts's meanPoolEncoder).
 * A generated collection: `n` passages of 5-20 words from a small word list, deterministic.
 */
export function generatedCollection(n: number, seed = 3): { id: string; text: string }[] {
  const words = 'apple river stone music garden engine winter planet paper silver ocean forest coffee window bridge doctor'.split(' ');
  const r = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({ id: `p${i}`, text: Array.from({ length: 5 + r.int(16) }, () => r.pick(words)).join(' ') }));
}
