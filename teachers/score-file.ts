import { openAtomic, type AtomicFile } from '../common/atomic.js';
import { BadLines, InputError, show } from '../common/errors.js';
import { readLines } from '../common/lines.js';
import { readTriples } from '../data/triples.js';

/**
 * Teacher score files, the two forms the data stage reads:
 * - `ids-scores`: `pos_score<TAB>neg_score<TAB>qid<TAB>pos_pid<TAB>neg_pid` (the published
 *   bert_cat_ensemble_msmarcopassage_train_scores_ids.tsv form);
 * - `text-scores`: `pos_score<TAB>neg_score<TAB>query<TAB>pos_text<TAB>neg_text`.
 * Parsing and validation are data/triples.ts's; this file adds format sniffing, one row shape for both
 * forms, and a streaming atomic writer.
 */
export type ScoreFormat = 'ids-scores' | 'text-scores';
export const SCORE_FORMATS: readonly ScoreFormat[] = ['ids-scores', 'text-scores'];

export interface ScoreRow {
  /** 1-based line in its file. */
  line: number;
  pos: number;
  neg: number;
  /** The triple's three columns, tab-joined as written: `qid\tpos_pid\tneg_pid` or `query\tpos\tneg`. Also the join key. */
  triple: string;
}

const DIGITS = /^\d+$/;

/**
 * Guesses the form from the first non-empty line: three integer id columns after the scores mean
 * `ids-scores`, anything else with five columns `text-scores`.
 */
export async function detectFormat(file: string): Promise<ScoreFormat> {
  for await (const { no, text } of readLines(file)) {
    if (text === '') continue;
    const cols = text.split('\t');
    if (cols.length !== 5) throw new InputError(file, no, '5 tab-separated columns (pos_score, neg_score, and a triple)', `${cols.length}`);
    return cols.slice(2).every((c) => DIGITS.test(c)) ? 'ids-scores' : 'text-scores';
  }
  throw new InputError(file, undefined, 'at least one score line', 'an empty file');
}

/** Streams a score file as `ScoreRow`s (validation and bad-line policy by data/triples.ts). */
export async function* readScores(file: string, format: ScoreFormat, opts: { badLines?: BadLines } = {}): AsyncGenerator<ScoreRow> {
  for await (const r of readTriples(file, format, { badLines: opts.badLines })) {
    const triple = r.qid !== undefined ? `${r.qid}\t${r.posPid}\t${r.negPid}` : `${r.query}\t${r.pos}\t${r.neg}`;
    yield { line: r.line, pos: r.posScore, neg: r.negScore, triple };
  }
}

/**
 * A score as text: 8 significant digits keep every float32 teacher score exactly (float32 has ~7.2)
 * while dropping the float64 noise of a mean (2.3333333 rather than 2.3333333333333335). A score the data
 * stage would refuse (not finite in float32, data/fields.ts parseScore) is never written.
 */
export function formatScore(x: number): string {
  const text = String(Number(x.toPrecision(8)));
  if (!Number.isFinite(Math.fround(Number(text)))) throw new Error(`score ${x} is not finite in float32: data prepare would refuse it`);
  return text;
}

export function formatRow(pos: number, neg: number, triple: string): string {
  return `${formatScore(pos)}\t${formatScore(neg)}\t${triple}\n`;
}

/**
 * Writes lines to a temp file beside `target` in 64 KB chunks (bounded memory for 40M-line outputs), then
 * fsyncs and renames it over `target` on commit() (common/atomic.ts openAtomic): readers never see a
 * half-written file.
 */
export class AtomicLineWriter {
  private buf = '';
  lines = 0;

  private constructor(private readonly file: AtomicFile) {}

  static async open(target: string): Promise<AtomicLineWriter> {
    return new AtomicLineWriter(await openAtomic(target));
  }

  /** Appends one line (with its `\n`). Await it: it waits while a full chunk is written. */
  async write(line: string): Promise<void> {
    this.buf += line;
    this.lines++;
    if (this.buf.length >= 1 << 16) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buf === '') return;
    const chunk = this.buf;
    this.buf = '';
    await this.file.write(chunk);
  }

  async commit(): Promise<void> {
    await this.flush();
    await this.file.commit();
  }

  async abort(): Promise<void> {
    await this.file.abort();
  }
}

/** A short form of a triple for error messages. */
export const showTriple = (triple: string): string => show(triple.replaceAll('\t', ' '));
