import { describe, expect, it } from 'vitest';
import { InputError } from '../common/errors.js';
import { atLeast, NON_NEGATIVE_INT, OPEN_UNIT_INTERVAL, parseNumberFlag, POSITIVE_INT } from './flags.js';

describe('parseNumberFlag', () => {
  it('returns the number of a good value, typed or read by yargs', () => {
    expect(parseNumberFlag('--k', POSITIVE_INT, '10')).toBe(10);
    expect(parseNumberFlag('--k', POSITIVE_INT, 10)).toBe(10);
    expect(parseNumberFlag('--chunk', NON_NEGATIVE_INT, '0')).toBe(0);
    expect(parseNumberFlag('--alpha', OPEN_UNIT_INTERVAL, '0.05')).toBe(0.05);
  });

  it.each([
    ['--k', POSITIVE_INT, 'abc'],
    ['--k', POSITIVE_INT, '0'],
    ['--k', POSITIVE_INT, '-2'],
    ['--k', POSITIVE_INT, '1.5'],
    ['--k', POSITIVE_INT, ''],
    ['--alpha', OPEN_UNIT_INTERVAL, '1'],
    ['--max-length', atLeast(2), '1'],
  ] as const)('%s %s refuses %j naming the flag and what is expected', (flag, rule, value) => {
    let err: unknown;
    try {
      parseNumberFlag(flag, rule, value);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(flag);
    expect((err as Error).message).toContain(rule.expected);
  });

  it('refuses a flag given twice', () => {
    expect(() => parseNumberFlag('--k', POSITIVE_INT, [1, 2])).toThrow('once');
  });
});
