import type { GroupBatch } from '../data/batch.js';

/** Micro-batches of a group batch for accumulation and GradCache: whole queries, each with its group. */

/** The row ranges [start, end) of `parts` near-equal micro-batches of `size` queries (at most `size` parts). */
export function microRanges(size: number, parts: number): [number, number][] {
  const n = Math.max(1, Math.min(parts, size));
  return Array.from({ length: n }, (_, i) => [Math.floor((i * size) / n), Math.floor(((i + 1) * size) / n)]);
}

/** Queries [start, end) with their groups, keeping the padded lengths (so each row computes exactly as in the whole). */
export function sliceGroups(b: GroupBatch, start: number, end: number): GroupBatch {
  const rows = (t: GroupBatch['queries'], from: number, to: number): GroupBatch['queries'] => ({
    rows: to - from,
    len: t.len,
    ids: t.ids.subarray(from * t.len, to * t.len),
    mask: t.mask.subarray(from * t.len, to * t.len),
  });
  return {
    size: end - start,
    group: b.group,
    queries: rows(b.queries, start, end),
    passages: rows(b.passages, start * b.group, end * b.group),
    teacher: b.teacher.subarray(start * b.group, end * b.group),
    hasTeacher: b.hasTeacher,
  };
}
