import { describe, expect, it } from 'vitest';
import type { Qrels } from '../data/qrels.js';
import type { Run } from '../data/runs.js';
import { coverageWarnings } from './coverage.js';

const files = { qrels: 'q.qrels', run: 'r.trec' };
const qrels: Qrels = new Map([['1', new Map([['d1', 1]])]]);
const run = (qid: string): Run => new Map([[qid, [{ docno: 'd1', score: 1 }]]]);

describe('coverageWarnings', () => {
  it('names the empty run, the empty qrels, or a run with no judged query', () => {
    expect(coverageWarnings(qrels, new Map(), files)).toEqual(['r.trec: the run is empty (no lines): every measure is 0']);
    expect(coverageWarnings(new Map(), run('1'), files)).toEqual(['q.qrels: no judgments: the measures are over 0 queries']);
    expect(coverageWarnings(qrels, run('2'), files)).toEqual(['r.trec: none of its 1 queries is judged in q.qrels: every measure is 0 (a run of another query set?)']);
  });

  it('is silent when one query is judged', () => {
    expect(coverageWarnings(qrels, new Map([...run('1'), ...run('2')]), files)).toEqual([]);
  });
});
