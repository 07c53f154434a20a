import { readLines } from '../common/lines.js';
import { BadLines, InputError } from '../common/errors.js';
import { checkId, checkText, splitTabs } from './fields.js';
import { repairMojibake } from './mojibake.js';

export interface ReadOptions {
  /** Where bad lines go; default: a fresh `BadLines('error')`, i.e. the first bad line throws. */
  badLines?: BadLines;
  /** Opt-in repair of UTF-8-read-as-Latin-1 text (see mojibake.ts); off by default. */
  repairMojibake?: boolean;
}

export interface IdText {
  id: string;
  text: string;
  /** 1-based line number in the file. */
  line: number;
}

/**
 * Streams a collection or queries file, `id<TAB>text` per line (MS MARCO collection.tsv, queries.*.tsv).
 * CRLF endings, a BOM and blank lines are accepted. Invalid UTF-8, a wrong
 * column count, an empty id or an empty text goes to `badLines`.
 */
export async function* readIdText(file: string, opts: ReadOptions = {}): AsyncGenerator<IdText> {
  const bad = opts.badLines ?? new BadLines('error');
  for await (const { no, text: raw } of readLines(file, { onInvalid: (e) => bad.report(e) })) {
    if (raw.trim() === '') continue; // a blank (e.g. last) line is no record
    const cols = splitTabs(file, no, raw, 2, 'id, text');
    if (cols instanceof InputError) {
      bad.report(cols);
      continue;
    }
    const id = checkId(file, no, cols[0], 'id');
    if (id instanceof InputError) {
      bad.report(id);
      continue;
    }
    const text = checkText(file, no, cols[1], 'text');
    if (text instanceof InputError) {
      bad.report(text);
      continue;
    }
    yield { id, text: opts.repairMojibake ? repairMojibake(text) : text, line: no };
  }
}

/** Loads a whole collection or queries file into memory; a repeated id is a bad line. */
export async function loadIdText(file: string, opts: ReadOptions = {}): Promise<Map<string, string>> {
  const bad = opts.badLines ?? new BadLines('error');
  const out = new Map<string, string>();
  for await (const { id, text, line } of readIdText(file, { ...opts, badLines: bad })) {
    if (out.has(id)) {
      bad.report(new InputError(file, line, 'each id once', `id ${id} again`));
      continue;
    }
    out.set(id, text);
  }
  return out;
}
