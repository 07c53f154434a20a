import { InputError, show } from '../common/errors.js';

/**
 * Field parsing shared by the TSV readers: each returns the parsed value or an InputError (not thrown, so
 * the reader can hand it to BadLines, which throws or counts it by the configured policy).
 */
export function splitTabs(file: string, line: number, text: string, columns: number, names: string): string[] | InputError {
  const parts = text.split('\t');
  if (parts.length !== columns)
    return new InputError(file, line, `${columns} tab-separated columns (${names})`, `${parts.length} column${parts.length === 1 ? '' : 's'}`);
  return parts;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A finite decimal number; rejects '', 'nan', 'inf' and overflow to Infinity. */
export function parseScore(file: string, line: number, field: string, what: string): number | InputError {
  const v = NUMBER.test(field) ? Number(field) : NaN;
  if (!Number.isFinite(v)) return new InputError(file, line, `${what} as a finite number`, show(field));
  return v;
}

/** An id: non-empty, without spaces. */
export function checkId(file: string, line: number, field: string, what: string): string | InputError {
  if (field.length === 0 || /\s/.test(field)) return new InputError(file, line, `a non-empty ${what} without spaces`, show(field));
  return field;
}

/** A text: not empty or only whitespace. */
export function checkText(file: string, line: number, field: string, what: string): string | InputError {
  if (field.trim().length === 0) return new InputError(file, line, `a non-empty ${what}`, show(field));
  return field;
}
