import { describe, expect, it } from 'vitest';
import { rng } from '../common/rng.js';
import { analyze } from './analyzer.js';
import { Bm25Index, luceneLength } from './bm25.js';
import { TopK } from './topk.js';

const DOCS = [
  { id: 'd1', text: 'The cat sat on the mat.' }, // cat sat mat
  { id: 'd2', text: "Cat's cats and DOGS" }, // cat cats dogs
  { id: 'd3', text: 'dogs chase the cat' }, // dogs chase cat
  { id: 'd4', text: 'A bird' }, // bird
];

describe('analyzer', () => {
  it('lowercases, drops possessives, splits on non-alphanumerics and removes stop words', () => {
    expect(analyze("Cat's cats and DOGS, e-mail 42x ünïcode", { stem: false })).toEqual(['cat', 'cats', 'dogs', 'e', 'mail', '42x', 'ünïcode']);
    expect(analyze("Cat's cats and DOGS, e-mail 42x ünïcode")).toEqual(['cat', 'cat', 'dog', 'e', 'mail', '42x', 'ünïcode']);
    expect(analyze('the cat', { stopwords: false, stem: false })).toEqual(['the', 'cat']);
  });
});

describe('Bm25Index', () => {
  it('scores a hand-computed example (k1 0.9, b 0.4, no stemming)', async () => {
    const index = await Bm25Index.build(DOCS, { stem: false });
    // N 4, avgdl 10/4; d1-d3 have 3 tokens: k1 (1 - b + b·3/2.5) = 0.972, so tf 1 → 1/1.972.
    // idf(cat) = ln(1 + 1.5/3.5) = ln(10/7); idf(dogs) = ln(1 + 2.5/2.5) = ln 2.
    expect(index.idf('cat')).toBeCloseTo(Math.log(10 / 7), 12);
    const hits = index.search('cat dogs?', 10);
    expect(hits.map((h) => h.docno)).toEqual(['d2', 'd3', 'd1']); // d2/d3 tie: earlier indexed first
    expect(hits[0].score).toBeCloseTo(0.532364, 5);
    expect(hits[2].score).toBeCloseTo(0.180870, 5);
    expect(hits[2].score).toBeCloseTo(Math.log(10 / 7) / 1.972, 12);
    // A repeated query term counts twice.
    expect(index.search('cat cat', 1)[0].score).toBeCloseTo((2 * Math.log(10 / 7)) / 1.972, 12);
    expect(index.search('zebra', 5)).toEqual([]);
  });

  it('writes a top-k run for a query map', async () => {
    const index = await Bm25Index.build(DOCS, { k1: 1.2, b: 0.75, stem: false });
    const run = index.searchRun(new Map([['q1', 'bird'], ['q2', 'mat cat']]), 2);
    expect(run.get('q1')!.map((h) => h.docno)).toEqual(['d4']);
    expect(run.get('q2')!.map((h) => h.docno)).toEqual(['d1', 'd2']);
  });

  it('stems documents and queries alike (default), changing the hand-computed example', async () => {
    const index = await Bm25Index.build(DOCS);
    // With stemming d2 is cat cat dog: tf(cat) 2 there; df(cat) 3, df(dog) 2; all lengths as before.
    const tf2 = 2 / (2 + 0.972);
    const hits = index.search('Dogs chasing cats', 3);
    expect(hits.map((h) => h.docno)).toEqual(['d3', 'd2', 'd1']);
    expect(hits[1].score).toBeCloseTo(Math.log(10 / 7) * tf2 + Math.log(2) / 1.972, 12);
  });

  it('quantizes long documents like Lucene norms', () => {
    expect([0, 23, 24, 31, 32, 40, 41, 47, 48, 100].map(luceneLength)).toEqual([0, 23, 24, 31, 32, 40, 40, 46, 48, 96]);
  });
});

describe('TopK', () => {
  it('keeps the k best, ties by lower id, against a full sort', () => {
    const rnd = rng(7);
    const pairs = Array.from({ length: 500 }, (_, id) => ({ score: Math.floor(rnd() * 50), id }));
    const top = new TopK(37);
    for (const p of pairs) top.push(p.score, p.id);
    expect(top.result()).toEqual([...pairs].sort((a, b) => b.score - a.score || a.id - b.id).slice(0, 37));
  });
});
