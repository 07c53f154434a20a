import { describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { tempFiles } from '../common/testing.js';
import { readQrels } from './qrels.js';

const write = tempFiles('qrels-');
const count = (q: Map<string, Map<string, number>>): number => [...q.values()].reduce((n, d) => n + d.size, 0);

describe('readQrels', () => {
  it('reads the real DL19 (Q0), DL20 (0) and dev (space separated) qrels', async () => {
    const dl19 = await readQrels(sharedPath('data/trec/qrels.dl19-passage.txt'));
    expect(dl19.size).toBe(43);
    expect(count(dl19)).toBe(9260);
    expect(dl19.get('19335')?.get('1017759')).toBe(0);
    const dl20 = await readQrels(sharedPath('data/trec/qrels.dl20-passage.txt'));
    expect(dl20.size).toBe(54);
    expect(count(dl20)).toBe(11386);
    expect(dl20.get('23849')?.get('1034183')).toBe(3);
    const dev = await readQrels(sharedPath('data/trec/qrels.msmarco-passage.dev-subset.txt'));
    expect(dev.size).toBe(6980);
    expect(count(dev)).toBe(7437);
    expect(new Set([...dev.values()].flatMap((d) => [...d.values()]))).toEqual(new Set([1]));
  });

  it('accepts tabs, blank lines and CRLF', async () => {
    const q = await readQrels(write('1\t0\td1\t2\r\n\n1 Q0 d2 0\n', 'tabs.txt'));
    expect([...q.get('1')!]).toEqual([['d1', 2], ['d2', 0]]);
  });

  it('names file and line for missing columns, a non-numeric grade and a duplicate judgment', async () => {
    const f1 = write('1 0 d1 1\n1 0 d2\n', 'cols.txt');
    await expect(readQrels(f1)).rejects.toThrow(`${f1}:2: expected 4 columns`);
    const f2 = write('1 0 d1 high\n', 'grade.txt');
    await expect(readQrels(f2)).rejects.toThrow(`${f2}:1: expected an integer grade in column 4, got "high"`);
    const f3 = write('1 0 d1 1\n2 0 d1 1\n1 0 d1 0\n', 'dup.txt');
    await expect(readQrels(f3)).rejects.toThrow(`${f3}:3: expected each docno judged once per query, got d1 again for query 1`);
  });
});
