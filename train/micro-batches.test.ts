import { describe, expect, it } from 'vitest';
import { collateGroups, padRows } from '../data/collate.js';
import { microRanges, sliceGroups } from './micro-batches.js';

describe('micro-batches', () => {
  // Two queries; positives of length 2, negatives of length 3 (so positives get one [PAD] more).
  const batch = collateGroups(padRows([[101, 5], [101]]), [padRows([[11, 12], [21]]), padRows([[13, 14, 15], [23, 24]])], [[9, 8], [1, 2]]);

  it('a slice keeps whole groups and the padded lengths', () => {
    const s = sliceGroups(batch, 1, 2);
    expect([s.size, s.group, s.queries.rows, s.queries.len, s.passages.rows, s.passages.len]).toEqual([1, 2, 1, 2, 2, 3]);
    expect(Array.from(s.queries.ids)).toEqual([101, 0]);
    expect(Array.from(s.passages.ids)).toEqual([21, 0, 0, 23, 24, 0]);
    expect(Array.from(s.passages.mask)).toEqual([1, 0, 0, 1, 1, 0]);
    expect(Array.from(s.teacher)).toEqual([8, 2]);
  });

  it('ranges cover the batch in near-equal parts, never more parts than queries', () => {
    expect(microRanges(4, 1)).toEqual([[0, 4]]);
    expect(microRanges(5, 2)).toEqual([[0, 2], [2, 5]]);
    expect(microRanges(4, 3)).toEqual([[0, 1], [1, 2], [2, 4]]);
    expect(microRanges(2, 8)).toEqual([[0, 1], [1, 2]]);
  });
});
