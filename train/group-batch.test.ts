import { describe, expect, it } from 'vitest';
import type { TripleBatch } from '../data/batch.js';
import { groupsFromTriples, microRanges, sliceGroups } from './group-batch.js';

// Two triples; positives of length 2, negatives of length 3 (so positives get one [PAD] more).
const triples: TripleBatch = {
  size: 2,
  qLen: 2,
  qIds: Int32Array.from([101, 5, 101, 0]),
  qMask: Int32Array.from([1, 1, 1, 0]),
  pLen: 2,
  posIds: Int32Array.from([11, 12, 21, 0]),
  posMask: Int32Array.from([1, 1, 1, 0]),
  nLen: 3,
  negIds: Int32Array.from([13, 14, 15, 23, 24, 0]),
  negMask: Int32Array.from([1, 1, 1, 1, 1, 0]),
  teacherPos: Float32Array.from([9, 8]),
  teacherNeg: Float32Array.from([1, 2]),
  hasTeacher: true,
};

describe('group batches', () => {
  it('triples become groups of 2, group-major, padded to the longer side', () => {
    const g = groupsFromTriples(triples);
    expect([g.size, g.group, g.passages.len]).toEqual([2, 2, 3]);
    expect(Array.from(g.passages.ids)).toEqual([11, 12, 0, 13, 14, 15, 21, 0, 0, 23, 24, 0]);
    expect(Array.from(g.passages.mask)).toEqual([1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0]);
    expect(Array.from(g.teacher)).toEqual([9, 1, 8, 2]);
    expect(g.queries).toEqual({ len: 2, ids: triples.qIds, mask: triples.qMask });
  });

  it('a slice keeps whole groups and the padded lengths', () => {
    const s = sliceGroups(groupsFromTriples(triples), 1, 2);
    expect([s.size, s.group, s.queries.len, s.passages.len]).toEqual([1, 2, 2, 3]);
    expect(Array.from(s.queries.ids)).toEqual([101, 0]);
    expect(Array.from(s.passages.ids)).toEqual([21, 0, 0, 23, 24, 0]);
    expect(Array.from(s.teacher)).toEqual([8, 2]);
  });

  it('micro-batch ranges cover the batch in near-equal parts, never more parts than queries', () => {
    expect(microRanges(4, 1)).toEqual([[0, 4]]);
    expect(microRanges(5, 2)).toEqual([[0, 2], [2, 5]]);
    expect(microRanges(4, 3)).toEqual([[0, 1], [1, 2], [2, 4]]);
    expect(microRanges(2, 8)).toEqual([[0, 1], [1, 2]]);
  });
});
