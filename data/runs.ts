import { openAtomic } from '../common/atomic.js';
import { InputError, show } from '../common/errors.js';
import { readLineBatches } from '../common/lines.js';

export interface Scored {
  docno: string;
  score: number;
}

/** A ranked run: qid → its retrieved documents (in file order; measures re-sort as trec_eval does). */
export type Run = Map<string, Scored[]>;

export type RunFormat = 'trec' | 'msmarco';

/**
 * Reads a run in either format, detected from the first non-blank line:
 * - TREC: `qid Q0 docno rank score tag` (6 columns, spaces or tabs; column 2 is ignored as by trec_eval);
 * - MS MARCO: `qid<TAB>docno<TAB>rank` (3 columns, no score): the score becomes `-rank`, so ordering by
 *   score descending reproduces the file's ranks.
 * Every later line must have the same shape. Bad column counts, non-numeric scores or ranks, and a docno
 * listed twice for one query are `InputError`s naming the file and line (trec_eval refuses duplicates too).
 */
export async function readRun(file: string): Promise<Run> {
  const run: Run = new Map();
  const seen = new Map<string, Set<string>>();
  let format: RunFormat | undefined;
  for await (const lines of readLineBatches(file)) for (const { no, text } of lines) {
    const t = text.trim();
    if (t === '') continue;
    const cols = t.split(/[ \t]+/);
    if (format === undefined) {
      if (cols.length === 6) format = 'trec';
      else if (cols.length === 3) format = 'msmarco';
      else {
        throw new InputError(file, no, 'a TREC run line `qid Q0 docno rank score tag` (6 columns) or MS MARCO `qid\\tdocno\\trank` (3)', `${cols.length} columns in ${show(text)}`);
      }
    }
    let qid: string;
    let docno: string;
    let score: number;
    if (format === 'trec') {
      if (cols.length !== 6) throw new InputError(file, no, '6 columns `qid Q0 docno rank score tag` like line 1 of the run', `${cols.length} in ${show(text)}`);
      [qid, , docno] = cols;
      score = Number(cols[4]);
      if (!Number.isFinite(score)) throw new InputError(file, no, 'a finite number as the score (column 5)', show(cols[4]));
    } else {
      if (cols.length !== 3) throw new InputError(file, no, '3 columns `qid<TAB>docno<TAB>rank` like the first line of the run', `${cols.length} in ${show(text)}`);
      [qid, docno] = cols;
      if (!/^\d+$/.test(cols[2])) throw new InputError(file, no, 'an integer rank (column 3)', show(cols[2]));
      score = -Number(cols[2]);
    }
    let docs = run.get(qid);
    let docSet = seen.get(qid);
    if (!docs || !docSet) {
      run.set(qid, (docs = []));
      seen.set(qid, (docSet = new Set()));
    }
    if (docSet.has(docno)) throw new InputError(file, no, 'each docno at most once per query', `${docno} again for query ${qid}`);
    docSet.add(docno);
    docs.push({ docno, score });
  }
  return run;
}

/** trec_eval's order: score descending, then docno descending (byte order, like its strcmp). */
export function compareScored(a: Scored, b: Scored): number {
  if (a.score !== b.score) return b.score - a.score;
  return a.docno < b.docno ? 1 : a.docno > b.docno ? -1 : 0;
}

/** The documents of one query in trec_eval's order; returns `docs` itself when it is already sorted. */
export function ranked(docs: Scored[]): Scored[] {
  for (let i = 1; i < docs.length; i++) {
    if (compareScored(docs[i - 1], docs[i]) > 0) return docs.slice().sort(compareScored);
  }
  return docs;
}

/**
 * Writes `run` in TREC format (`qid Q0 docno rank score tag`), each query's documents in trec_eval's order
 * with ranks 1..n. Atomic: a temp file beside the target is written in chunks (a 1M-line run does not fit
 * one string comfortably), fsynced and renamed over it.
 */
export async function writeRun(file: string, run: Run, tag: string): Promise<void> {
  if (!/^\S+$/.test(tag)) throw new InputError('--tag', undefined, 'one word without spaces', show(tag));
  const out = await openAtomic(file);
  try {
    let chunk: string[] = [];
    for (const [qid, docs] of run) {
      const sorted = ranked(docs);
      for (let i = 0; i < sorted.length; i++) {
        chunk.push(`${qid} Q0 ${sorted[i].docno} ${i + 1} ${sorted[i].score} ${tag}\n`);
      }
      if (chunk.length >= 65536) {
        await out.write(chunk.join(''));
        chunk = [];
      }
    }
    if (chunk.length) await out.write(chunk.join(''));
  } catch (e) {
    await out.abort();
    throw e;
  }
  await out.commit();
}
