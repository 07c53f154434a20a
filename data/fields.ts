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

/** The largest finite float32 (2^128 - 2^104): a score beyond it is cached and trained as Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * A finite decimal number that stays finite as float32 (the data cache and the model compute in float32);
 * rejects '', 'nan', 'inf', overflow to Infinity, and 1e39 (finite in float64, Infinity in float32).
 */
export function parseScore(file: string, line: number, field: string, what: string): number | InputError {
  const v = NUMBER.test(field) ? Number(field) : NaN;
  if (!Number.isFinite(v)) return new InputError(file, line, `${what} as a finite number`, show(field));
  if (!Number.isFinite(Math.fround(v))) return new InputError(file, line, `${what} within float32 range (|score| <= ${FLOAT32_MAX.toPrecision(8)})`, show(field));
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
