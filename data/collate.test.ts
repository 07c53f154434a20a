import { describe, expect, it } from 'vitest';
import { collateGroups, padRows } from './collate.js';

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

  it('interleaves padded columns group-major, widening each row with padding and mask 0', () => {
    const q = padRows([[9], [8, 7]]); // [2, 2]
    const pos = padRows([[1, 2, 3], [4]]); // [2, 3]
    const neg = padRows([[5, 6], [7, 8]]); // [2, 2]
    const g = collateGroups(q, [pos, neg], [[10, 11], [-1, -2]]);
    expect(g).toMatchObject({ size: 2, group: 2, hasTeacher: true, passages: { rows: 4, len: 3 } });
    expect(g.queries).toBe(q);
    expect(Array.from(g.passages.ids)).toEqual([1, 2, 3, 5, 6, 0, 4, 0, 0, 7, 8, 0]);
    expect(Array.from(g.passages.mask)).toEqual([1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0]);
    expect(Array.from(g.teacher)).toEqual([10, -1, 11, -2]);
    expect(collateGroups(q, [pos, neg], null)).toMatchObject({ hasTeacher: false, teacher: new Float32Array(4) });
    expect(() => collateGroups(q, [pos], null)).toThrow(/>= 2 columns/);
  });
});
