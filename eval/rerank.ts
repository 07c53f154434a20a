import type { Run } from '../data/runs.js';
import { ranked } from '../data/runs.js';
import { embedTexts, type Encoder, type TextTokenizer } from './embed.js';

export interface RerankOptions {
  queryMaxLength: number;
  passageMaxLength: number;
  batchSize: number;
  /** Re-rank only each query's top `depth` candidates (trec_eval order); default all. */
  depth?: number;
  /** Called after each query with the number done. */
  onQuery?: (done: number, total: number) => void;
}

export type PassageLookup = Map<string, string> | ((pid: string) => string | undefined);

/**
 * Re-ranks a candidate run with a BERT_Dot encoder: score(q, p) = CLS(q) · CLS(p). Queries of the run
 * without a text, or candidates without a passage, are errors that name the id (a silent drop would change
 * the measures). Returns a new run with the dot products as scores.
 */
export async function rerank(model: Encoder, tokenizer: TextTokenizer, queries: Map<string, string>, passages: PassageLookup, run: Run, opts: RerankOptions): Promise<Run> {
  const lookup = typeof passages === 'function' ? passages : (pid: string) => passages.get(pid);
  const out: Run = new Map();
  let done = 0;
  for (const [qid, docs] of run) {
    const query = queries.get(qid);
    if (query === undefined) throw new Error(`rerank: query ${qid} of the candidate run has no text in the queries file`);
    const candidates = ranked(docs).slice(0, opts.depth ?? Infinity);
    const texts = candidates.map((d) => {
      const text = lookup(d.docno);
      if (text === undefined) throw new Error(`rerank: passage ${d.docno} (candidate of query ${qid}) is not in the collection`);
      return text;
    });
    const q = await embedTexts(model, tokenizer, [query], opts.queryMaxLength, 1); // [1, dim]
    const p = await embedTexts(model, tokenizer, texts, opts.passageMaxLength, opts.batchSize); // [n, dim]
    out.set(qid, candidates.map((d, i) => ({ docno: d.docno, score: dot(q.vectors, 0, p.vectors, i * p.dim, p.dim) })));
    opts.onQuery?.(++done, run.size);
    // Yield to the event loop between queries so progress output and signals get through.
    await new Promise((r) => setImmediate(r));
  }
  return out;
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}
