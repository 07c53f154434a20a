import type { Run, Scored } from '../data/runs.js';
import { analyze } from './analyzer.js';
import { TopK } from './topk.js';

export interface Bm25Params {
  /** Term-frequency saturation; 0.9 with b 0.4 are Anserini's MS MARCO passage defaults. */
  k1: number;
  b: number;
  /** Remove the English stop words (see analyzer.ts). */
  stopwords: boolean;
  /** Porter-stem tokens (Lucene's variant, as Anserini). */
  stem: boolean;
  /**
   * Quantize document lengths as Lucene stores them (one byte, SmallFloat.intToByte4: exact below 24
   * tokens, then 4 significant bits), so long-document scores follow Lucene's; false uses exact lengths.
   */
  luceneNorms: boolean;
}

export const BM25_DEFAULTS: Bm25Params = { k1: 0.9, b: 0.4, stopwords: true, stem: true, luceneNorms: true };

/**
 * An in-memory inverted index with Lucene-style BM25 (Lucene ≥ 8, as Anserini uses):
 *   score(q, d) = Σ_{t ∈ q} qtf(t) · idf(t) · tf / (tf + k1 · (1 − b + b · dl / avgdl)),
 *   idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5)),
 * where dl is the (quantized) number of analyzed tokens of d and avgdl the exact mean token count. A query
 * term repeated in the query counts once per repetition (Anserini's bag-of-words query weights terms by
 * their count). Postings live in plain number arrays per term: fine for collections up to a few million
 * passages; for the full 8.8M MS MARCO collection use a Pyserini run.
 */
export class Bm25Index {
  readonly params: Bm25Params;
  private readonly docnos: string[] = [];
  private readonly lengths: number[] = [];
  private readonly terms = new Map<string, { docs: number[]; tfs: number[] }>();
  private totalTokens = 0;

  constructor(params: Partial<Bm25Params> = {}) {
    this.params = { ...BM25_DEFAULTS, ...params };
  }

  static async build(docs: AsyncIterable<{ id: string; text: string }> | Iterable<{ id: string; text: string }>, params: Partial<Bm25Params> = {}): Promise<Bm25Index> {
    const index = new Bm25Index(params);
    for await (const d of docs) index.add(d.id, d.text);
    return index;
  }

  get size(): number {
    return this.docnos.length;
  }

  add(docno: string, text: string): void {
    const doc = this.docnos.length;
    const tokens = analyze(text, this.params);
    const tf = new Map<string, number>();
    for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, n] of tf) {
      let p = this.terms.get(t);
      if (!p) this.terms.set(t, (p = { docs: [], tfs: [] }));
      p.docs.push(doc);
      p.tfs.push(n);
    }
    this.docnos.push(docno);
    this.lengths.push(tokens.length);
    this.totalTokens += tokens.length;
  }

  /** idf of an analyzed term (0 documents → the formula's value for df 0). */
  idf(term: string): number {
    const df = this.terms.get(term)?.docs.length ?? 0;
    const n = this.size;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** The top `k` documents for `query`, best first (ties: earlier indexed document first, as in Lucene). */
  search(query: string, k: number): Scored[] {
    const n = this.size;
    if (n === 0) return [];
    const { k1, b } = this.params;
    const avgdl = this.totalTokens / n;
    const qtf = new Map<string, number>();
    for (const t of analyze(query, this.params)) qtf.set(t, (qtf.get(t) ?? 0) + 1);
    const acc = new Float64Array(n); // [docs] accumulated scores
    const touched: number[] = [];
    for (const [t, count] of qtf) {
      const p = this.terms.get(t);
      if (!p) continue;
      const w = count * this.idf(t);
      for (let i = 0; i < p.docs.length; i++) {
        const d = p.docs[i];
        const dl = this.params.luceneNorms ? luceneLength(this.lengths[d]) : this.lengths[d];
        const tf = p.tfs[i];
        if (acc[d] === 0) touched.push(d);
        acc[d] += (w * tf) / (tf + k1 * (1 - b + (b * dl) / avgdl));
      }
    }
    const top = new TopK(k);
    for (const d of touched) top.push(acc[d], d);
    return top.result().map(({ score, id }) => ({ docno: this.docnos[id], score }));
  }

  /** Top-`k` run for every query (qid → text). */
  searchRun(queries: Map<string, string>, k: number): Run {
    const run: Run = new Map();
    for (const [qid, text] of queries) run.set(qid, this.search(text, k));
    return run;
  }
}

// Lucene's SmallFloat.intToByte4 / byte4ToInt: lengths below 24 are exact, larger ones keep 4 significant bits.
const FREE = 24;

/** The document length Lucene's BM25 sees after storing `len` in its one-byte norm. */
export function luceneLength(len: number): number {
  if (len < FREE) return len;
  const i = len - FREE;
  const bits = 32 - Math.clz32(i);
  if (bits < 4) return FREE + i;
  const shift = bits - 4;
  // Keep the 4 most significant bits (truncating), as the byte encoding does.
  return FREE + ((i >>> shift) << shift);
}
