import type { Qrels } from '../data/qrels.js';
import { compareScored, ranked, type Run, type Scored } from '../data/runs.js';

/**
 * Retrieval measures with trec_eval 10.0 semantics, computed in one pass per query:
 * - every query of the qrels counts; one the run lacks scores 0 (`trec_eval -c`); run queries without
 *   judgments are ignored;
 * - documents are ordered by score descending, then docno descending (trec_eval ignores the rank column);
 * - binary measures call a document relevant when its grade ≥ `minRel` (`-l`, default 1; TREC DL uses 2);
 *   unjudged documents are not relevant;
 * - a cutoff `@k` looks at the top k documents only (`-M k` for `mrr@k` and `map@k`, as the goldens do).
 *
 * Names: `mrr@k` (recip_rank with -M k), `ndcg@k` (ndcg_cut.k: linear gain = grade, discount log2(rank+1),
 * ideal from all judged grades > 0; ignores minRel), `recall@k` (recall.k), `p@k` (P.k: divided by k even
 * when fewer were retrieved), `map` (all retrieved), `map@k` (map with -M k).
 */
export type MeasureKind = 'mrr' | 'ndcg' | 'recall' | 'p' | 'map';

export interface Measure {
  name: string;
  kind: MeasureKind;
  /** Cutoff; Infinity for `map` without one. */
  k: number;
}

export interface EvalResult {
  measures: Record<string, { all: number; perQuery: Record<string, number> }>;
}

export const DEFAULT_MEASURES = ['mrr@10', 'ndcg@10', 'recall@1000'];

const CUTOFF_REQUIRED = new Set<MeasureKind>(['mrr', 'ndcg', 'recall', 'p']);

/** Parses `mrr@10`, `ndcg@10`, `recall@1000`, `p@5`, `map`, `map@1000` (case-insensitive). */
export function parseMeasure(name: string): Measure {
  const m = /^(mrr|ndcg|recall|p|map)(?:@(\d+))?$/i.exec(name.trim());
  if (!m) throw new Error(`unknown measure ${JSON.stringify(name)}: expected mrr@k, ndcg@k, recall@k, p@k, map or map@k`);
  const kind = m[1].toLowerCase() as MeasureKind;
  if (m[2] === undefined && CUTOFF_REQUIRED.has(kind)) throw new Error(`measure ${JSON.stringify(name)} needs a cutoff, e.g. ${kind}@10`);
  const k = m[2] === undefined ? Infinity : Number(m[2]);
  if (k < 1) throw new Error(`measure ${JSON.stringify(name)}: the cutoff must be at least 1`);
  return { name: `${kind}${m[2] === undefined ? '' : `@${k}`}`, kind, k };
}

/** Evaluates `run` against `qrels`; see the file comment for the semantics. */
export function evaluate(qrels: Qrels, run: Run, opts: { measures?: string[]; minRel?: number } = {}): EvalResult {
  const measures = (opts.measures ?? DEFAULT_MEASURES).map(parseMeasure);
  const minRel = opts.minRel ?? 1;
  const perQuery = measures.map(() => ({}) as Record<string, number>);
  const sums = new Float64Array(measures.length);

  for (const [qid, judged] of qrels) {
    const hits = rankedHits(run.get(qid) ?? [], judged, minRel);
    let numRel = 0;
    const positive: number[] = [];
    for (const g of judged.values()) {
      if (g >= minRel) numRel++;
      if (g > 0) positive.push(g);
    }
    positive.sort((a, b) => b - a); // the ideal ranking's gains, for nDCG
    for (let j = 0; j < measures.length; j++) {
      const v = score(measures[j], hits, numRel, minRel, positive);
      perQuery[j][qid] = v;
      sums[j] += v;
    }
  }
  const result: EvalResult = { measures: {} };
  measures.forEach((m, j) => {
    result.measures[m.name] = { all: qrels.size ? sums[j] / qrels.size : 0, perQuery: perQuery[j] };
  });
  return result;
}

/** The retrieved documents that any measure can count (grade > 0 or ≥ minRel): 0-based rank and grade, by rank. */
interface Hits {
  ranks: number[];
  grades: number[];
}

/**
 * Finds the hits' trec_eval ranks. Every measure depends only on where the judged-relevant documents
 * rank, so a run that is not already in trec_eval order need not be sorted: with few hits (MS MARCO has
 * ~1 per query) each hit's rank is the number of documents ordered before it, O(docs x hits), several
 * times cheaper than sorting 1,000 documents; with many hits (TREC DL) it sorts. Likewise, with few
 * countable judgments the run is scanned for them by string equality instead of one Map lookup per
 * retrieved document.
 */
function rankedHits(docs: Scored[], judged: Map<string, number>, minRel: number): Hits {
  const counts = (g: number | undefined): g is number => g !== undefined && (g > 0 || g >= minRel);
  let sorted = true;
  for (let i = 1; i < docs.length && sorted; i++) if (compareScored(docs[i - 1], docs[i]) > 0) sorted = false;
  const wanted: string[] = [];
  for (const [docno, g] of judged) if (counts(g)) wanted.push(docno);
  let idx: number[] = [];
  if (wanted.length <= 8) {
    for (let i = 0; i < docs.length; i++) {
      const d = docs[i].docno;
      for (let w = 0; w < wanted.length; w++) if (wanted[w] === d) idx.push(i);
    }
  } else {
    idx = [];
    for (let i = 0; i < docs.length; i++) if (counts(judged.get(docs[i].docno))) idx.push(i);
  }
  if (sorted) return { ranks: idx, grades: idx.map((i) => judged.get(docs[i].docno)!) };
  if (idx.length > 16) {
    const order = ranked(docs);
    const hits: Hits = { ranks: [], grades: [] };
    order.forEach((d, r) => {
      const g = judged.get(d.docno);
      if (counts(g)) {
        hits.ranks.push(r);
        hits.grades.push(g);
      }
    });
    return hits;
  }
  const found = idx.map((i) => {
    const { score, docno } = docs[i];
    let rank = 0;
    for (let j = 0; j < docs.length; j++) {
      const o = docs[j];
      if (o.score > score || (o.score === score && o.docno > docno)) rank++;
    }
    return { rank, grade: judged.get(docno)! };
  });
  found.sort((a, b) => a.rank - b.rank);
  return { ranks: found.map((f) => f.rank), grades: found.map((f) => f.grade) };
}

function score(m: Measure, hits: Hits, numRel: number, minRel: number, positive: number[]): number {
  const { ranks, grades } = hits;
  switch (m.kind) {
    case 'mrr':
      for (let i = 0; i < ranks.length && ranks[i] < m.k; i++) if (grades[i] >= minRel) return 1 / (ranks[i] + 1);
      return 0;
    case 'recall':
    case 'p': {
      let found = 0;
      for (let i = 0; i < ranks.length && ranks[i] < m.k; i++) if (grades[i] >= minRel) found++;
      if (m.kind === 'p') return found / m.k;
      return numRel ? found / numRel : 0;
    }
    case 'map': {
      let found = 0;
      let sum = 0;
      for (let i = 0; i < ranks.length && ranks[i] < m.k; i++) if (grades[i] >= minRel) sum += ++found / (ranks[i] + 1);
      return numRel ? sum / numRel : 0;
    }
    case 'ndcg': {
      let dcg = 0;
      for (let i = 0; i < ranks.length && ranks[i] < m.k; i++) if (grades[i] > 0) dcg += grades[i] / Math.log2(ranks[i] + 2);
      let idcg = 0;
      for (let i = 0; i < Math.min(positive.length, m.k); i++) idcg += positive[i] / Math.log2(i + 2);
      return idcg ? dcg / idcg : 0;
    }
  }
}

/**
 * Formats like trec_eval's `printf("%.4f")`: C rounds the exact binary value half-to-even, while JS's
 * toFixed rounds an exact tie up (0.28125 prints 0.2812 in trec_eval, 0.2813 with toFixed).
 */
export function formatMeasure(v: number, digits = 4): string {
  const exact = v.toFixed(digits + 21);
  const tie = new RegExp(`^(-?\\d+\\.\\d{${digits}})50*$`).exec(exact);
  if (!tie) return v.toFixed(digits);
  const lastDigit = Number(tie[1].at(-1));
  return lastDigit % 2 === 0 ? tie[1] : v.toFixed(digits);
}
