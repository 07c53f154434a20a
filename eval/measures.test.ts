import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { rng } from '../common/rng.js';
import { readQrels } from '../data/qrels.js';
import { ranked, readRun, type Run } from '../data/runs.js';
import { evaluate, formatMeasure, parseMeasure } from './measures.js';

interface Golden {
  run: string;
  measures: Record<string, { trec_eval_flags: string; all: number; per_query: Record<string, number> }>;
}

/** Golden key `mrr@10 (rel>=2)` with flags `-c -M 10 -l 2 ...` → our measure name and minRel. */
function ours(key: string, flags: string): { name: string; minRel: number } {
  const name = key.split(' ')[0];
  const l = /-l (\d+)/.exec(flags);
  return { name, minRel: l ? Number(l[1]) : 1 };
}

describe.each(['dl19-bm25', 'dl19-ties'])('trec_eval goldens %s', (which) => {
  const dir = sharedPath('goldens/metrics');
  const golden = JSON.parse(readFileSync(path.join(dir, `${which}.json`), 'utf8')) as Golden;
  it.each(Object.entries(golden.measures))('%s equals trec_eval per query and overall to 4 decimals', async (key, g) => {
    const qrels = await readQrels(sharedPath('data/trec/qrels.dl19-passage.txt'));
    const run = await readRun(path.resolve(dir, golden.run));
    const { name, minRel } = ours(key, g.trec_eval_flags);
    const r = evaluate(qrels, run, { measures: [name], minRel }).measures[name];
    expect(Object.keys(r.perQuery).sort()).toEqual(Object.keys(g.per_query).sort());
    for (const [qid, v] of Object.entries(g.per_query)) expect([qid, formatMeasure(r.perQuery[qid])]).toEqual([qid, v.toFixed(4)]);
    expect(formatMeasure(r.all)).toBe(g.all.toFixed(4));
  });
});

describe('evaluate on hand-computed cases', () => {
  const qrels = new Map([
    ['a', new Map([['d1', 2], ['d2', 1], ['d3', 0], ['d9', 3]])],
    ['b', new Map([['x', 1]])],
  ]);
  // Tie at score 1 between d1 and d2: docno descending puts d2 first.
  const run: Run = new Map([
    ['a', [{ docno: 'd1', score: 1 }, { docno: 'd3', score: 3 }, { docno: 'd2', score: 1 }, { docno: 'dx', score: 0 }]],
    ['zz', [{ docno: 'q', score: 1 }]],
  ]);
  const r = evaluate(qrels, run, { measures: ['mrr@10', 'mrr@2', 'recall@3', 'p@2', 'map', 'ndcg@3'], minRel: 1 }).measures;

  it('orders ties by docno descending and scores missing queries 0 (-c)', () => {
    // ranking of a: d3(0) d2(1) d1(2) dx(unjudged); 3 relevant (d1, d2, d9).
    expect(r['mrr@10'].perQuery).toEqual({ a: 1 / 2, b: 0 });
    expect(r['mrr@10'].all).toBe(1 / 4);
    expect(r['mrr@2'].perQuery.a).toBe(1 / 2);
    expect(r['recall@3'].perQuery.a).toBeCloseTo(2 / 3, 12);
    expect(r['p@2'].perQuery.a).toBe(1 / 2);
    expect(r['map'].perQuery.a).toBeCloseTo((1 / 2 + 2 / 3) / 3, 12);
    // DCG = 1/log2(3) + 2/log2(4); IDCG = 3 + 2/log2(3) + 1/log2(4)
    const dcg = 1 / Math.log2(3) + 2 / 2;
    const idcg = 3 + 2 / Math.log2(3) + 1 / 2;
    expect(r['ndcg@3'].perQuery.a).toBeCloseTo(dcg / idcg, 12);
  });

  it('applies the relevance threshold to binary measures only', () => {
    const r2 = evaluate(qrels, run, { measures: ['mrr@10', 'ndcg@3'], minRel: 2 }).measures;
    expect(r2['mrr@10'].perQuery.a).toBe(1 / 3);
    expect(r2['ndcg@3'].perQuery.a).toBe(r['ndcg@3'].perQuery.a);
  });

  it('prints like C printf %.4f (exact ties to even)', () => {
    expect(formatMeasure(0.28125)).toBe('0.2812');
    expect(formatMeasure(0.28135)).toBe('0.2813'); // not representable: the double lies just below the tie
    expect(formatMeasure(0.84375)).toBe('0.8438');
    expect(formatMeasure(1 / 3)).toBe('0.3333');
  });

  it('parses measure names and rejects bad ones', () => {
    expect(parseMeasure('MAP')).toEqual({ name: 'map', kind: 'map', k: Infinity });
    expect(parseMeasure('map@1000')).toEqual({ name: 'map@1000', kind: 'map', k: 1000 });
    expect(() => parseMeasure('ndcg')).toThrow('needs a cutoff');
    expect(() => parseMeasure('err@10')).toThrow('unknown measure');
  });
});

describe('evaluate without sorting', () => {
  it('gives the same values on a shuffled run with tied scores (rank counting) as on the sorted run', () => {
    const rnd = rng(5);
    const qrels = new Map<string, Map<string, number>>();
    const shuffled: Run = new Map();
    for (let q = 0; q < 50; q++) {
      const docs = Array.from({ length: 200 }, (_, d) => ({ docno: `d${d}`, score: Math.floor(rnd() * 40) }));
      // 0-3 relevant docs (the rank-counting path) for most queries, 30 for every tenth (the sorting path).
      const judged = new Map<string, number>();
      for (let j = 0; j < (q % 10 === 0 ? 30 : q % 4); j++) judged.set(`d${Math.floor(rnd() * 220)}`, Math.floor(rnd() * 4));
      qrels.set(`q${q}`, judged);
      shuffled.set(`q${q}`, docs);
    }
    const sorted: Run = new Map([...shuffled].map(([q, docs]) => [q, ranked(docs)]));
    const measures = ['mrr@10', 'ndcg@10', 'recall@50', 'p@5', 'map', 'map@100'];
    for (const minRel of [1, 2]) {
      expect(evaluate(qrels, shuffled, { measures, minRel })).toEqual(evaluate(qrels, sorted, { measures, minRel }));
    }
  });
});
