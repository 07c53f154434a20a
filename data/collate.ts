import type { GroupBatch } from './batch.js';

/**
 * Collation: token rows of different lengths → one row-major block padded to the longest row, with its
 * attention mask (1 on tokens, 0 on padding). The one implementation of padding for the batcher, eval's
 * embedding, BERT_Cat pair scoring, and group batches from padded columns (collateGroups).
 */
export interface Padded {
  rows: number;
  len: number;
  ids: Int32Array; // [rows, len]
  mask: Int32Array; // [rows, len]
}

/** The length of the longest row (0 for none). */
export function longest(rows: readonly ArrayLike<number>[]): number {
  let len = 0;
  for (const r of rows) len = Math.max(len, r.length);
  return len;
}

/** Pads `rows` with `padId` to `len` (default: the longest row). */
export function padRows(rows: readonly ArrayLike<number>[], padId = 0, len = longest(rows)): Padded {
  const ids = new Int32Array(rows.length * len); // [rows, len]
  if (padId !== 0) ids.fill(padId);
  const mask = new Int32Array(rows.length * len); // [rows, len]
  rows.forEach((row, i) => {
    ids.set(row, i * len);
    mask.fill(1, i * len, i * len + row.length);
  });
  return { rows: rows.length, len, ids, mask };
}

/**
 * A group batch from padded columns: `columns[j]` holds passage j of every query's group ([B, len_j]; column 0
 * the positives, then the negatives), interleaved group-major into [B * G, max len_j] (shorter rows padded
 * with `padId`, mask 0: padded keys get zero attention weight, so every row encodes as in its own column).
 * `teacher[j]` are column j's scores ([B]), or null for data without a teacher.
 */
export function collateGroups(queries: Padded, columns: readonly Padded[], teacher: readonly ArrayLike<number>[] | null, padId = 0): GroupBatch {
  const b = queries.rows;
  const g = columns.length;
  if (g < 2 || columns.some((c) => c.rows !== b)) throw new RangeError(`collateGroups: expected >= 2 columns of ${b} rows, got ${columns.map((c) => c.rows).join(', ')}`);
  const len = Math.max(...columns.map((c) => c.len));
  const ids = new Int32Array(b * g * len); // [B * G, len]
  if (padId !== 0) ids.fill(padId);
  const mask = new Int32Array(b * g * len); // [B * G, len]
  const scores = new Float32Array(b * g); // [B * G]
  for (let r = 0; r < b; r++) {
    columns.forEach((c, j) => {
      const at = (r * g + j) * len;
      ids.set(c.ids.subarray(r * c.len, (r + 1) * c.len), at);
      mask.set(c.mask.subarray(r * c.len, (r + 1) * c.len), at);
      if (teacher) scores[r * g + j] = teacher[j][r];
    });
  }
  return { size: b, group: g, queries, passages: { rows: b * g, len, ids, mask }, teacher: scores, hasTeacher: teacher !== null };
}
