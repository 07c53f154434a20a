import { describe, expect, it } from 'vitest';
import { BadLines, InputError } from './errors.js';

describe('BadLines', () => {
  it('throws under error', () => {
    const bad = new BadLines('error');
    expect(() => bad.report(new InputError('t.tsv', 3, '5 columns', '4'))).toThrow('t.tsv:3: expected 5 columns, got 4');
  });

  it('counts by reason and keeps examples under skip', () => {
    const bad = new BadLines('skip', 2);
    bad.report(new InputError('t.tsv', 3, '5 columns', '4'));
    bad.report(new InputError('t.tsv', 7, 'a finite score', '"nan"'));
    bad.report(new InputError('t.tsv', 9, '5 columns', '6'));
    expect(bad.toJSON()).toEqual({
      count: 3,
      byReason: { '5 columns': 2, 'a finite score': 1 },
      examples: [
        { file: 't.tsv', line: 3, reason: 't.tsv:3: expected 5 columns, got 4' },
        { file: 't.tsv', line: 7, reason: 't.tsv:7: expected a finite score, got "nan"' },
      ],
    });
  });
});
