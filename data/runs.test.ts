import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { tempFiles } from '../common/testing.js';
import { ranked, readRun, writeRun, type Run } from './runs.js';

const write = tempFiles('runs-');

describe('readRun', () => {
  it('reads the real DL19 BM25 run (tab separated, `0` in column 2)', async () => {
    const run = await readRun(sharedPath('data/runs/dl19-passage.bm25-top500.trec'));
    expect(run.size).toBe(43);
    for (const docs of run.values()) expect(docs.length).toBe(500);
    expect(run.get('19335')![0]).toEqual({ docno: '8412684', score: 10.593999862670898 });
  });

  it('reads MS MARCO `qid\\tpid\\trank` runs with score -rank', async () => {
    const run = await readRun(write('7\t30\t2\n7\t10\t1\n8\t5\t1\n', 'm.tsv'));
    expect(run.get('7')).toEqual([{ docno: '30', score: -2 }, { docno: '10', score: -1 }]);
    expect(ranked(run.get('7')!).map((d) => d.docno)).toEqual(['10', '30']);
  });

  it('names file and line for missing columns, a non-numeric score, a mixed format and a duplicate doc', async () => {
    const f1 = write('1 Q0 d1 1 2.0 t\n1 Q0 d2 2 1.0\n', 'c.trec');
    await expect(readRun(f1)).rejects.toThrow(`${f1}:2: expected 6 columns`);
    const f2 = write('1 Q0 d1 1 2.0 t\n1 Q0 d2 2 abc t\n', 's.trec');
    await expect(readRun(f2)).rejects.toThrow(`${f2}:2: expected a finite number as the score (column 5), got "abc"`);
    const f3 = write('1 Q0 d1 1 2.0 t\n2 Q0 d1 1 2.0 t\n1 Q0 d1 2 1.0 t\n', 'd.trec');
    await expect(readRun(f3)).rejects.toThrow(`${f3}:3: expected each docno at most once per query, got d1 again for query 1`);
    const f4 = write('1 Q0 d1\t1\n', 'x.trec');
    await expect(readRun(f4)).rejects.toThrow(`${f4}:1: expected a TREC run line`);
    const f5 = write('1\td1\tfirst\n', 'r.tsv');
    await expect(readRun(f5)).rejects.toThrow(`${f5}:1: expected an integer rank (column 3), got "first"`);
  });
});

describe('writeRun', () => {
  it('writes TREC lines in trec_eval order (score desc, docno desc) and reads back the same run', async () => {
    const run: Run = new Map([
      ['q1', [{ docno: 'a', score: 1 }, { docno: 'c', score: 2.5 }, { docno: 'b', score: 1 }]],
      ['q2', [{ docno: 'z', score: -0.125 }]],
    ]);
    const f = path.join(write.dir, 'out', 'run.trec');
    await writeRun(f, run, 'test');
    expect(readFileSync(f, 'utf8')).toBe('q1 Q0 c 1 2.5 test\nq1 Q0 b 2 1 test\nq1 Q0 a 3 1 test\nq2 Q0 z 1 -0.125 test\n');
    const back = await readRun(f);
    expect(back.get('q1')!.map((d) => d.docno)).toEqual(['c', 'b', 'a']);
    await expect(writeRun(f, run, 'two words')).rejects.toThrow('one word');
  });
});
