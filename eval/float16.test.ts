import { describe, expect, it } from 'vitest';
import { fromHalf, toHalf } from './float16.js';

describe('float16', () => {
  it('encodes like numpy float16 (values checked with numpy)', () => {
    expect([1, 65504, 0.1, -2.5, 1e-7, 70000, 0.333333].map(toHalf)).toEqual([0x3c00, 0x7bff, 0x2e66, 0xc100, 0x2, 0x7c00, 0x3555]);
  });
  it('round-trips within half precision', () => {
    for (const v of [0.1, -3.14159, 1234.5, 6e-5]) expect(Math.abs(fromHalf(toHalf(v)) - v) / Math.abs(v)).toBeLessThan(1e-3);
    expect(fromHalf(0x7c00)).toBe(Infinity);
  });
});
