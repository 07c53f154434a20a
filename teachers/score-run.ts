import { InputError } from '../common/errors.js';
import { progress } from '../common/progress.js';
import { ranked, readRun, writeRun, type Run } from '../data/runs.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { modelVocab } from '../data/vocab-name.js';
import { loadIdText } from '../data/tsv.js';
import type { InferenceChoice } from '../models/engine/inference.js';
import { loadTeacher, scorePairs } from './pair-scorer.js';

/**
 * A teacher run: the top `depth` passages of each query of a candidate run (e.g. BM25's top 100) re-scored by a
 * BERT_Cat cross-encoder and written as a TREC run of the teacher's scores, each query's lines together. It is
 * what `data.groups: {source: teacher-run}` reads (data/groups.ts) to draw groups of a positive and K negatives.
 * The candidate run is read whole (readRun) and the output written atomically (writeRun): a failed run leaves
 * no partial file, and a rerun starts over (unlike triple scoring, teachers/score.ts, this is not resumable).
 */
export interface ScoreRunOptions {
  model: string;
  /** Candidate run, TREC or MS MARCO format. */
  run: string;
  queries: string;
  collection: string;
  out: string;
  /** Re-score at most this many passages per query, in the run's order (default: all). */
  depth?: number;
  /** Default `<model>/vocab.txt`. */
  vocab?: string;
  /** Pairs per batch handed to the pair scorer. */
  batchSize?: number;
  maxLength?: number;
  chunk?: number;
  /** The engine that scores (models/engine/inference.ts); default tfjs. */
  inference?: InferenceChoice;
  /** Where the line saying which engine scores goes (default: nowhere). */
  log?: (line: string) => void;
  quiet?: boolean;
}

export async function scoreRun(opts: ScoreRunOptions): Promise<{ out: string; queries: number; pairs: number; seconds: number }> {
  const t0 = Date.now();
  const vocab = modelVocab(opts.model, opts.vocab); // a file or a bundled name, as data.vocab
  const [candidates, queries, passages] = await Promise.all([readRun(opts.run), loadIdText(opts.queries), loadIdText(opts.collection)]);
  // Every id is checked before the model runs, so a wrong file fails in seconds, not after hours of scoring.
  const pairs: { qid: string; pid: string; query: string; passage: string }[] = [];
  for (const [qid, docs] of candidates) {
    const query = queries.get(qid);
    if (query === undefined) throw new InputError(opts.run, undefined, `queries of ${opts.queries}`, `qid ${qid}`);
    for (const d of ranked(docs).slice(0, opts.depth ?? Infinity)) {
      const passage = passages.get(d.docno);
      if (passage === undefined) throw new InputError(opts.run, undefined, `passages of ${opts.collection}`, `pid ${d.docno} (query ${qid})`);
      pairs.push({ qid, pid: d.docno, query, passage });
    }
  }
  const tok = await loadTokenizer(vocab);
  const scorer = await loadTeacher(opts.model, opts.inference ?? 'tfjs', opts.log);
  const batchSize = opts.batchSize ?? 64;
  const bar = opts.quiet ? null : progress({ label: 'scoring', total: pairs.length, unit: 'pairs' });
  const out: Run = new Map();
  try {
    for (let start = 0; start < pairs.length; start += batchSize) {
      const batch = pairs.slice(start, start + batchSize);
      const s = await scorePairs(scorer.score, tok, batch.map((p) => [p.query, p.passage]), { maxLength: opts.maxLength ?? 512, chunk: opts.chunk ?? 16 });
      batch.forEach((p, i) => {
        const docs = out.get(p.qid) ?? [];
        docs.push({ docno: p.pid, score: s[i] });
        out.set(p.qid, docs);
      });
      bar?.tick(batch.length);
    }
  } finally {
    bar?.stop();
    await scorer.dispose();
  }
  await writeRun(opts.out, out, 'teacher');
  return { out: opts.out, queries: out.size, pairs: pairs.length, seconds: (Date.now() - t0) / 1000 };
}
