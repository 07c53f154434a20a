/**
 * Collation: token rows of different lengths → one row-major block padded to the longest row, with its
 * attention mask (1 on tokens, 0 on padding). The one implementation of padding for the batcher, eval's
 * embedding, BERT_Cat pair scoring and BERT_Dot's stacked passages.
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
 * Stacks padded blocks into one, each row widened to the widest block: ids padded with `padId`, mask 0.
 * E.g. positives [b, pLen] and negatives [b, nLen] → [2b, max(pLen, nLen)].
 */
export function stackPadded(blocks: readonly Padded[], padId = 0): Padded {
  const len = Math.max(0, ...blocks.map((b) => b.len));
  const rows = blocks.reduce((n, b) => n + b.rows, 0);
  const ids = new Int32Array(rows * len); // [rows, len]
  if (padId !== 0) ids.fill(padId);
  const mask = new Int32Array(rows * len); // [rows, len]
  let at = 0;
  for (const b of blocks) {
    for (let r = 0; r < b.rows; r++, at++) {
      ids.set(b.ids.subarray(r * b.len, (r + 1) * b.len), at * len);
      mask.set(b.mask.subarray(r * b.len, (r + 1) * b.len), at * len);
    }
  }
  return { rows, len, ids, mask };
}
