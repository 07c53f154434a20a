import type { Options } from 'yargs';
import { InputError, show } from '../common/errors.js';

/**
 * Numeric flags checked as they are parsed (yargs `coerce`), so a bad value is one line naming the flag before
 * any work starts. yargs' own `type: 'number'` turns `abc` into NaN and takes 0, negatives and fractions,
 * which gave empty runs, NaN scores and all-zero measures. No `type` is set: the value reaches the check as
 * typed (so the message can quote `abc`), or as the number yargs read.
 */
export interface NumberRule {
  /** What is expected, for the message and the help: `an integer >= 1`. */
  expected: string;
  ok(n: number): boolean;
}

export const POSITIVE_INT: NumberRule = { expected: 'an integer >= 1', ok: (n) => Number.isInteger(n) && n >= 1 };
export const NON_NEGATIVE_INT: NumberRule = { expected: 'an integer >= 0', ok: (n) => Number.isInteger(n) && n >= 0 };
export const NON_NEGATIVE: NumberRule = { expected: 'a number >= 0', ok: (n) => Number.isFinite(n) && n >= 0 };
export const UNIT_INTERVAL: NumberRule = { expected: 'a number in [0, 1]', ok: (n) => n >= 0 && n <= 1 };
/** A probability that is neither certain nor impossible (a significance level). */
export const OPEN_UNIT_INTERVAL: NumberRule = { expected: 'a number in (0, 1)', ok: (n) => n > 0 && n < 1 };
export const atLeast = (min: number): NumberRule => ({ expected: `an integer >= ${min}`, ok: (n) => Number.isInteger(n) && n >= min });

/** The number in a flag's value, or throws InputError(`flag`, …). */
export function parseNumberFlag(flag: string, rule: NumberRule, value: unknown): number {
  if (Array.isArray(value)) throw new InputError(flag, undefined, `${rule.expected}, once`, `${value.length} values`);
  const text = String(value).trim();
  const n = typeof value === 'number' ? value : text === '' ? NaN : Number(text);
  if (!rule.ok(n)) throw new InputError(flag, undefined, rule.expected, show(String(value)));
  return n;
}

type Described = { describe?: string; default?: number };

/** A yargs option whose value must follow `rule`; `flag` is its name as typed (`--depth`, `-k`). */
export function numberOption(flag: string, rule: NumberRule, o: Described = {}): Options {
  return {
    ...o,
    describe: [o.describe, `(${rule.expected})`].filter(Boolean).join(' '),
    requiresArg: true,
    coerce: (v: unknown) => (v === undefined ? v : parseNumberFlag(flag, rule, v)),
  };
}

/** A list flag (`--weights 1 2 3`) whose every value must follow `rule`. */
export function numberListOption(flag: string, rule: NumberRule, o: { describe?: string } = {}): Options {
  return {
    ...o,
    describe: [o.describe, `(each ${rule.expected})`].filter(Boolean).join(' '),
    array: true,
    requiresArg: true,
    coerce: (v: unknown) => (v === undefined ? v : (Array.isArray(v) ? v : [v]).map((x: unknown) => parseNumberFlag(flag, rule, x))),
  };
}
