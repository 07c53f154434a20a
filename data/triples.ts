import { readLines } from '../common/lines.js';
import { BadLines, InputError } from '../common/errors.js';
import { checkId, checkText, parseScore, splitTabs } from './fields.js';
import { repairMojibake } from './mojibake.js';
import type { ReadOptions } from './tsv.js';

/**
 * The three forms MS MARCO training triples come in:
 * - `ids-scores`:  `pos_score<TAB>neg_score<TAB>qid<TAB>pos_pid<TAB>neg_pid` (the published BERT_Cat
 *   ensemble teacher file, 39.8M lines), joined with the collection and queries by id;
 * - `text-scores`: `pos_score<TAB>neg_score<TAB>query<TAB>positive<TAB>negative`;
 * - `text`:        `query<TAB>positive<TAB>negative` (triples.train.small.tsv; no teacher).
 */
export const TRIPLE_FORMATS = ['ids-scores', 'text-scores', 'text'] as const;
export type TripleFormat = (typeof TRIPLE_FORMATS)[number];

export interface Triple {
  line: number;
  posScore?: number;
  negScore?: number;
  qid?: string;
  posPid?: string;
  negPid?: string;
  query?: string;
  pos?: string;
  neg?: string;
}

const COLUMNS: Record<TripleFormat, string> = {
  'ids-scores': 'pos_score, neg_score, qid, pos_pid, neg_pid',
  'text-scores': 'pos_score, neg_score, query, positive, negative',
  text: 'query, positive, negative',
};

/** Streams triples; bad lines (column count, non-finite score, empty id or text) go to `badLines`. */
export async function* readTriples(file: string, format: TripleFormat, opts: ReadOptions = {}): AsyncGenerator<Triple> {
  const bad = opts.badLines ?? new BadLines('error');
  const ncol = format === 'text' ? 3 : 5;
  const fix = opts.repairMojibake ? repairMojibake : (s: string) => s;
  for await (const { no, text } of readLines(file, { onInvalid: (e) => bad.report(e) })) {
    const t = parseTriple(file, no, text, format, ncol);
    if (t instanceof InputError) {
      bad.report(t);
      continue;
    }
    if (t.query !== undefined) {
      t.query = fix(t.query);
      t.pos = fix(t.pos!);
      t.neg = fix(t.neg!);
    }
    yield t;
  }
}

function parseTriple(file: string, no: number, text: string, format: TripleFormat, ncol: number): Triple | InputError {
  const c = splitTabs(file, no, text, ncol, COLUMNS[format]);
  if (c instanceof InputError) return c;
  if (format === 'text') {
    const [query, pos, neg] = [checkText(file, no, c[0], 'query'), checkText(file, no, c[1], 'positive passage'), checkText(file, no, c[2], 'negative passage')];
    for (const v of [query, pos, neg]) if (v instanceof InputError) return v;
    return { line: no, query: query as string, pos: pos as string, neg: neg as string };
  }
  const posScore = parseScore(file, no, c[0], 'pos_score');
  if (posScore instanceof InputError) return posScore;
  const negScore = parseScore(file, no, c[1], 'neg_score');
  if (negScore instanceof InputError) return negScore;
  if (format === 'ids-scores') {
    const ids = [checkId(file, no, c[2], 'qid'), checkId(file, no, c[3], 'pos_pid'), checkId(file, no, c[4], 'neg_pid')];
    for (const v of ids) if (v instanceof InputError) return v;
    return { line: no, posScore, negScore, qid: ids[0] as string, posPid: ids[1] as string, negPid: ids[2] as string };
  }
  const texts = [checkText(file, no, c[2], 'query'), checkText(file, no, c[3], 'positive passage'), checkText(file, no, c[4], 'negative passage')];
  for (const v of texts) if (v instanceof InputError) return v;
  return { line: no, posScore, negScore, query: texts[0] as string, pos: texts[1] as string, neg: texts[2] as string };
}
