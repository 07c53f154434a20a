/**
 * Maps external ids (pids, qids) to row numbers. MS MARCO ids are dense decimal integers (pids 0..8.8M),
 * so those go into a growable Int32Array (4 bytes per id instead of ~60 for a Map<string, number> entry);
 * any other id falls back to a Map.
 */
const DENSE_LIMIT = 1 << 27;

export class IdIndex {
  private dense = new Int32Array(1024).fill(-1);
  private readonly other = new Map<string, number>();
  size = 0;

  /** Adds an id; returns false if it was there already. */
  add(id: string, row: number): boolean {
    const n = denseKey(id);
    if (n >= 0) {
      if (n >= this.dense.length) {
        let len = this.dense.length;
        while (len <= n) len *= 2;
        const grown = new Int32Array(len).fill(-1);
        grown.set(this.dense);
        this.dense = grown;
      }
      if (this.dense[n] >= 0) return false;
      this.dense[n] = row;
    } else {
      if (this.other.has(id)) return false;
      this.other.set(id, row);
    }
    this.size++;
    return true;
  }

  /** The row of `id`, or -1. */
  get(id: string): number {
    const n = denseKey(id);
    if (n >= 0) return n < this.dense.length ? this.dense[n] : -1;
    return this.other.get(id) ?? -1;
  }
}

/** The id as a small non-negative integer in canonical form (so "007" and "7" stay distinct), else -1. */
function denseKey(id: string): number {
  if (id.length === 0 || id.length > 9) return -1;
  let n = 0;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  if (id.length > 1 && id.charCodeAt(0) === 48) return -1;
  return n < DENSE_LIMIT ? n : -1;
}
