import { describe, expect, it } from 'vitest';
import { padRows, stackPadded } from './collate.js';

describe('collate', () => {
  it('pads rows to the longest with the pad id, mask 1 on tokens', () => {
    const p = padRows([[101, 7, 102], [101, 102], Uint16Array.from([101, 8, 9, 102])], 5);
    expect(p).toMatchObject({ rows: 3, len: 4 });
    expect(Array.from(p.ids)).toEqual([101, 7, 102, 5, 101, 102, 5, 5, 101, 8, 9, 102]);
    expect(Array.from(p.mask)).toEqual([1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1]);
  });

  it('pads to a given width (e.g. token type ids to their pair ids\' width)', () => {
    expect(Array.from(padRows([[0, 1], [0]], 0, 3).ids)).toEqual([0, 1, 0, 0, 0, 0]);
  });

  it('stacks padded blocks, widening each row with padding and mask 0', () => {
    const a = padRows([[1, 2, 3], [4]]); // [2, 3]
    const b = padRows([[5, 6], [7, 8]]); // [2, 2]
    const s = stackPadded([a, b]);
    expect(s).toMatchObject({ rows: 4, len: 3 });
    expect(Array.from(s.ids)).toEqual([1, 2, 3, 4, 0, 0, 5, 6, 0, 7, 8, 0]);
    expect(Array.from(s.mask)).toEqual([1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0]);
  });
});
