import { readLines } from '../common/lines.js';
import { BadLines, InputError } from '../common/errors.js';
import { checkId, checkText, parseScore, splitTabs } from './fields.js';
import { repairMojibake } from './mojibake.js';
import type { ReadOptions } from './tsv.js';

/**
 * The three forms MS MARCO training triples come in (`data.triples_format`):
 * - `ids-scores`:  `pos_score<TAB>neg_score<TAB>qid<TAB>pos_pid<TAB>neg_pid` (the published BERT_Cat
 *   ensemble teacher file, 39.8M lines), joined with the collection and queries by id;
 * - `text-scores`: `pos_score<TAB>neg_score<TAB>query<TAB>positive<TAB>negative`;
 * - `text`:        `query<TAB>positive<TAB>negative` (triples.train.small.tsv; no teacher).
 * And one more that readTriples reads: `ids`, `qid<TAB>pos_pid<TAB>neg_pid` (qidpidtriples: triples to score
 * with a teacher, no scores).
 */
export const TRIPLE_FORMATS = ['ids-scores', 'text-scores', 'text'] as const;
export type TripleFormat = (typeof TRIPLE_FORMATS)[number];
export type TripleForm = TripleFormat | 'ids';

interface Ids {
  qid: string;
  posPid: string;
  negPid: string;
}
interface Texts {
  query: string;
  pos: string;
  neg: string;
}
interface Scores {
  posScore: number;
  negScore: number;
}
/** The fields of another form, absent (so `t.posScore === undefined` or `t.qid !== undefined` narrows a Triple). */
type Without<T> = { [K in keyof T]?: never };

export type IdsTriple = { line: number } & Ids & Without<Texts> & Without<Scores>;
export type IdsScoresTriple = { line: number } & Ids & Scores & Without<Texts>;
export type TextTriple = { line: number } & Texts & Without<Ids> & Without<Scores>;
export type TextScoresTriple = { line: number } & Texts & Scores & Without<Ids>;
export type Triple = IdsTriple | IdsScoresTriple | TextTriple | TextScoresTriple;
/** The triple a form reads as. */
export type TripleOf<F extends TripleForm> = F extends 'ids-scores'
  ? IdsScoresTriple
  : F extends 'text-scores'
    ? TextScoresTriple
    : F extends 'text'
      ? TextTriple
      : IdsTriple;

const COLUMNS: Record<TripleForm, string[]> = {
  'ids-scores': ['pos_score', 'neg_score', 'qid', 'pos_pid', 'neg_pid'],
  'text-scores': ['pos_score', 'neg_score', 'query', 'positive', 'negative'],
  text: ['query', 'positive', 'negative'],
  ids: ['qid', 'pos_pid', 'neg_pid'],
};

/** Streams triples; bad lines (column count, non-finite score, empty id or text) go to `badLines`. */
export async function* readTriples<F extends TripleForm>(file: string, format: F, opts: ReadOptions = {}): AsyncGenerator<TripleOf<F>> {
  const bad = opts.badLines ?? new BadLines('error');
  const fix = opts.repairMojibake ? repairMojibake : (s: string) => s;
  let first = true;
  for await (const { no, text } of readLines(file, { onInvalid: (e) => bad.report(e) })) {
    if (text.trim() === '') continue; // a blank (e.g. last) line is no triple
    const t = parseTriple(file, no, text, format, fix);
    if (t instanceof InputError) bad.report(t);
    else {
      if (first) checkTextForm(file, t, format);
      first = false;
      yield t as TripleOf<F>;
    }
  }
}

const ID = /^\d+$/;

/**
 * An id file read as texts parses (ids are non-empty strings) and would train on the token ids of "1185869"
 * and "59219": refuse a text form whose first triple is three numeric ids, naming the form it is.
 */
function checkTextForm(file: string, t: Triple, format: TripleForm): void {
  if ((format !== 'text' && format !== 'text-scores') || ![t.query, t.pos, t.neg].every((x) => ID.test(x ?? ''))) return;
  const is = format === 'text' ? 'ids' : 'ids-scores';
  throw new InputError(file, t.line, `${format} triples (query and passage texts)`, `three numeric ids: an ${is} file (set the format to ${is})`);
}

function parseTriple(file: string, no: number, text: string, format: TripleForm, fix: (s: string) => string): Triple | InputError {
  const names = COLUMNS[format];
  const c = splitTabs(file, no, text, names.length, names.join(', '));
  if (c instanceof InputError) return c;
  let scores: Scores | undefined;
  if (format === 'ids-scores' || format === 'text-scores') {
    const posScore = parseScore(file, no, c[0], 'pos_score');
    if (posScore instanceof InputError) return posScore;
    const negScore = parseScore(file, no, c[1], 'neg_score');
    if (negScore instanceof InputError) return negScore;
    scores = { posScore, negScore };
  }
  const [a, b, d] = c.slice(scores ? 2 : 0);
  if (format === 'ids' || format === 'ids-scores') {
    const qid = checkId(file, no, a, 'qid');
    if (qid instanceof InputError) return qid;
    const posPid = checkId(file, no, b, 'pos_pid');
    if (posPid instanceof InputError) return posPid;
    const negPid = checkId(file, no, d, 'neg_pid');
    if (negPid instanceof InputError) return negPid;
    return scores ? { line: no, ...scores, qid, posPid, negPid } : { line: no, qid, posPid, negPid };
  }
  const query = checkText(file, no, a, 'query');
  if (query instanceof InputError) return query;
  const pos = checkText(file, no, b, 'positive passage');
  if (pos instanceof InputError) return pos;
  const neg = checkText(file, no, d, 'negative passage');
  if (neg instanceof InputError) return neg;
  const texts = { query: fix(query), pos: fix(pos), neg: fix(neg) };
  return scores ? { line: no, ...scores, ...texts } : { line: no, ...texts };
}
