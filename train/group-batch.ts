import type { TripleBatch } from '../data/batch.js';

/** Token rows padded to one length: `ids.length === rows * len`; mask 1 for tokens, 0 for [PAD]. */
export interface TokenRows {
  len: number;
  ids: Int32Array; // [rows, len]
  mask: Int32Array; // [rows, len]
}

/**
 * A batch of B queries, each with a group of G = 1 + K passages: its positive, then K negatives. Passages
 * are group-major (query b's positive is row b * G), the order of the columns of the in-batch matrix M, so
 * each passage is encoded once per batch. K = 1 is a triple batch (groupsFromTriples).
 */
export interface GroupBatch {
  size: number; // B
  group: number; // G = 1 + K
  queries: TokenRows; // [B, qLen]
  passages: TokenRows; // [B * G, pLen]
  /** Teacher scores [B * G], passage order; zeros when `hasTeacher` is false. */
  teacher: Float32Array;
  hasTeacher: boolean;
}

/**
 * A triple batch as groups of 2 (positive, negative), both padded to max(pLen, nLen) with [PAD] and mask 0:
 * padded keys get zero attention weight, so every row encodes as in the triple batch.
 */
export function groupsFromTriples(b: TripleBatch): GroupBatch {
  const len = Math.max(b.pLen, b.nLen);
  const ids = new Int32Array(2 * b.size * len); // [2B, len]: pos 0, neg 0, pos 1, neg 1, ...
  const mask = new Int32Array(2 * b.size * len);
  const teacher = new Float32Array(2 * b.size);
  for (let r = 0; r < b.size; r++) {
    ids.set(b.posIds.subarray(r * b.pLen, (r + 1) * b.pLen), 2 * r * len);
    mask.set(b.posMask.subarray(r * b.pLen, (r + 1) * b.pLen), 2 * r * len);
    ids.set(b.negIds.subarray(r * b.nLen, (r + 1) * b.nLen), (2 * r + 1) * len);
    mask.set(b.negMask.subarray(r * b.nLen, (r + 1) * b.nLen), (2 * r + 1) * len);
    teacher[2 * r] = b.teacherPos[r];
    teacher[2 * r + 1] = b.teacherNeg[r];
  }
  return {
    size: b.size,
    group: 2,
    queries: { len: b.qLen, ids: b.qIds, mask: b.qMask },
    passages: { len, ids, mask },
    teacher,
    hasTeacher: b.hasTeacher,
  };
}

/** Queries [start, end) with their groups, keeping the padded lengths (so each row computes exactly as in the whole). */
export function sliceGroups(b: GroupBatch, start: number, end: number): GroupBatch {
  const rows = (t: TokenRows, from: number, to: number): TokenRows => ({
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

/** The row ranges [start, end) of `parts` near-equal micro-batches of `size` queries (at most `size` parts). */
export function microRanges(size: number, parts: number): [number, number][] {
  const n = Math.max(1, Math.min(parts, size));
  return Array.from({ length: n }, (_, i) => [Math.floor((i * size) / n), Math.floor(((i + 1) * size) / n)]);
}
