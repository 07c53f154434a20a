/**
 * Streaming top-k of (score, id) pairs with a binary min-heap in typed arrays: O(n log k) time, O(k) memory,
 * for BM25 (one accumulator pass over millions of touched documents) and for merging retrieval shards.
 * Order: score descending, then id ascending (Lucene's tie order: lower internal doc id first).
 */
export class TopK {
  private readonly scores: Float64Array;
  private readonly ids: Int32Array;
  private size = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.ids = new Int32Array(k);
  }

  /** a ranks below b (is the worse one). */
  private worse(i: number, j: number): boolean {
    const si = this.scores[i];
    const sj = this.scores[j];
    return si < sj || (si === sj && this.ids[i] > this.ids[j]);
  }

  push(score: number, id: number): void {
    if (this.k === 0) return;
    if (this.size < this.k) {
      let i = this.size++;
      this.scores[i] = score;
      this.ids[i] = id;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(i, p)) break;
        this.swap(i, p);
        i = p;
      }
      return;
    }
    // Replace the root (the worst kept) when the newcomer ranks above it.
    if (score < this.scores[0] || (score === this.scores[0] && id > this.ids[0])) return;
    this.scores[0] = score;
    this.ids[0] = id;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.worse(l, m)) m = l;
      if (r < this.size && this.worse(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const s = this.scores[i];
    this.scores[i] = this.scores[j];
    this.scores[j] = s;
    const d = this.ids[i];
    this.ids[i] = this.ids[j];
    this.ids[j] = d;
  }

  /** The score a newcomer must reach to enter: the worst kept one once k are kept, else -Infinity. */
  floor(): number {
    return this.size < this.k ? -Infinity : this.scores[0];
  }

  /** The kept pairs, best first. */
  result(): { score: number; id: number }[] {
    const out: { score: number; id: number }[] = [];
    for (let i = 0; i < this.size; i++) out.push({ score: this.scores[i], id: this.ids[i] });
    return out.sort((a, b) => b.score - a.score || a.id - b.id);
  }
}
