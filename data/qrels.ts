import { InputError, show } from '../common/errors.js';
import { readLineBatches } from '../common/lines.js';

/** Relevance judgments: qid → docno → grade (graded; what counts as relevant is the measure's threshold). */
export type Qrels = Map<string, Map<string, number>>;

/**
 * Reads a TREC qrels file, `qid 0|Q0 docno grade` per line, columns separated by spaces or tabs
 * (TREC DL uses `Q0` or `0`, MS MARCO's qrels.dev.small.tsv uses tabs). Blank lines are skipped.
 * A line with other than 4 columns, a non-integer grade, or a docno judged twice for the same query is an
 * `InputError` naming the file and line (trec_eval would silently take one of the two grades).
 */
export async function readQrels(file: string): Promise<Qrels> {
  const qrels: Qrels = new Map();
  for await (const lines of readLineBatches(file)) for (const { no, text } of lines) {
    const t = text.trim();
    if (t === '') continue;
    const cols = t.split(/[ \t]+/);
    if (cols.length !== 4) {
      throw new InputError(file, no, '4 columns `qid 0|Q0 docno grade`', `${cols.length} in ${show(text)}`);
    }
    const [qid, , docno, g] = cols;
    if (!/^-?\d+$/.test(g)) throw new InputError(file, no, 'an integer grade in column 4', show(g));
    let docs = qrels.get(qid);
    if (!docs) qrels.set(qid, (docs = new Map()));
    if (docs.has(docno)) throw new InputError(file, no, `each docno judged once per query`, `${docno} again for query ${qid}`);
    docs.set(docno, Number(g));
  }
  return qrels;
}
