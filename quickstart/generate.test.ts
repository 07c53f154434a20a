import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { readQrels } from '../data/qrels.js';
import { readRun } from '../data/runs.js';
import { evaluate } from '../eval/measures.js';
import { buildDataset, DEFAULT_GENERATE, generate, qrelsOf } from './generate.js';
import { CONCEPTS, FUNCTION_WORDS, NEUTRAL, QUERY_TEMPLATES, SENTENCE_TEMPLATES } from './lexicon.js';

const tmp = () => fsp.mkdtemp(path.join(os.tmpdir(), 'qs-gen-'));
const FILES = ['collection.tsv', 'queries.train.tsv', 'queries.dev.tsv', 'qrels.dev.tsv', 'run.bm25.dev.trec', 'queries.val.tsv', 'qrels.val.tsv', 'run.bm25.val.trec', 'triples.train.scores.tsv', 'qrels.train.tsv', 'run.teacher.train.trec', 'dataset.json'];
const small = { topics: 60, passagesPerTopic: 2, extraPassages: 20, trainQueries: 120, devQueries: 30, valQueries: 10, bm25Depth: 20, triplesPerQuery: 3 };

describe('quickstart generator', () => {
  it('writes byte-identical files for the same seed and different ones for another seed', async () => {
    const [a, b, c] = [await tmp(), await tmp(), await tmp()];
    await generate(a, { ...small, seed: 7 });
    await generate(b, { ...small, seed: 7 });
    await generate(c, { ...small, seed: 8 });
    for (const f of FILES) {
      const fa = await fsp.readFile(path.join(a, f));
      expect(fa.length).toBeGreaterThan(0);
      expect(fa.equals(await fsp.readFile(path.join(b, f))), f).toBe(true);
      if (f !== 'dataset.json') expect(fa.equals(await fsp.readFile(path.join(c, f))), f).toBe(false);
    }
  });

  it('uses only whole words of the bert-base-uncased vocab, each in one role', async () => {
    const vocab = new Set((await fsp.readFile(sharedPath('data/vocab/bert-base-uncased-vocab.txt'), 'utf8')).split('\n'));
    const templateWords = [...QUERY_TEMPLATES, ...SENTENCE_TEMPLATES].flatMap((t) => t.split(' ')).filter((w) => !/^[ABXYn]$/.test(w));
    const all = [...CONCEPTS.flat(), ...NEUTRAL, ...FUNCTION_WORDS, ...templateWords, '.'];
    expect(all.filter((w) => !vocab.has(w))).toEqual([]);
    expect(templateWords.filter((w) => !FUNCTION_WORDS.includes(w))).toEqual([]);
    const conceptWords = CONCEPTS.flat();
    expect(new Set(conceptWords).size).toBe(conceptWords.length); // no word in two concepts
    expect(conceptWords.filter((w) => NEUTRAL.includes(w) || FUNCTION_WORDS.includes(w))).toEqual([]);
    const ds = buildDataset(DEFAULT_GENERATE);
    const used = new Set([...ds.passages, ...ds.trainQueries, ...ds.devQueries, ...ds.valQueries].flatMap((x) => x.text.split(' ')));
    expect([...used].filter((w) => !vocab.has(w))).toEqual([]);
  });

  it('writes the MS MARCO formats with consistent ids', async () => {
    const dir = await tmp();
    const f = await generate(dir, small);
    const rows = async (file: string, sep: string | RegExp) =>
      (await fsp.readFile(file, 'utf8')).trimEnd().split('\n').map((l) => l.split(sep));
    const pids = new Set((await rows(f.collection, '\t')).map((r) => r[0]));
    const train = new Set((await rows(f.queriesTrain, '\t')).map((r) => r[0]));
    const dev = new Set((await rows(f.queriesDev, '\t')).map((r) => r[0]));
    expect(pids.size).toBe(60 * 2 + 20);
    expect(train.size).toBe(120);
    expect(dev.size).toBe(30);
    for (const r of await rows(f.qrelsDev, ' ')) {
      expect(r).toHaveLength(4);
      expect(dev.has(r[0]) && r[1] === '0' && pids.has(r[2]) && r[3] === '1').toBe(true);
    }
    const run = await rows(f.bm25Dev, ' ');
    expect(new Set(run.map((r) => r[0]))).toEqual(dev);
    for (const r of run) expect(r[1] === 'Q0' && pids.has(r[2]) && Number(r[3]) <= 20 && r[5] === 'bm25').toBe(true);
    const triples = await rows(f.trainScores, '\t');
    expect(triples).toHaveLength(120 * 3);
    for (const [ps, ns, qid, pos, neg] of triples) {
      expect(Number.isFinite(Number(ps)) && Number.isFinite(Number(ns))).toBe(true);
      expect(train.has(qid) && pids.has(pos) && pids.has(neg) && pos !== neg).toBe(true);
    }
    // The teacher run of the training queries: BM25's top 30 (fewer when fewer passages share a word) plus every judged passage, teacher-scored.
    const qrelsTrain = await readQrels(f.qrelsTrain);
    expect(new Set(qrelsTrain.keys())).toEqual(train);
    const teacher = await readRun(f.teacherRunTrain);
    expect(new Set(teacher.keys())).toEqual(train);
    const [pos, neg]: number[][] = [[], []];
    for (const [qid, docs] of teacher) {
      const judged = [...qrelsTrain.get(qid)!.keys()];
      expect(docs.length).toBeLessThanOrEqual(30 + judged.length);
      expect(docs.map((d) => d.docno)).toEqual(expect.arrayContaining(judged));
      for (const d of docs) (judged.includes(d.docno) ? pos : neg).push(d.score);
    }
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    expect(mean(pos)).toBeCloseTo(4, 0);
    expect(mean(pos) - mean(neg)).toBeGreaterThan(4);
  });

  it('the teacher run leaves every other file as it was without it (its own random stream)', () => {
    const a = buildDataset({ ...DEFAULT_GENERATE, ...small, teacherRunDepth: 5 });
    const b = buildDataset({ ...DEFAULT_GENERATE, ...small, teacherRunDepth: 50 });
    expect(b.triples).toEqual(a.triples);
    expect(b.passages).toEqual(a.passages);
  });

  it('gives relevant passages the teacher margin and hides them from word matching', () => {
    const ds = buildDataset(DEFAULT_GENERATE);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    // Teacher: positives score 4 ± noise, negatives 0 or −4 ± noise.
    expect(mean(ds.triples.map((t) => t.posScore))).toBeCloseTo(4, 0);
    expect(mean(ds.triples.map((t) => t.posScore - t.negScore))).toBeGreaterThan(4);
    const qrels = qrelsOf(ds, ds.devQueries);
    expect([...qrels.values()].every((pids) => pids.length === DEFAULT_GENERATE.passagesPerTopic)).toBe(true);
    // The lexical gap: most relevant passages miss at least one of the query's two concept words.
    const conceptWords = new Set(CONCEPTS.flat());
    const text = new Map(ds.passages.map((p) => [p.pid, new Set(p.text.split(' '))]));
    let full = 0;
    let pairs = 0;
    for (const q of ds.devQueries) {
      const words = q.text.split(' ').filter((w) => conceptWords.has(w));
      expect(words).toHaveLength(2);
      for (const pid of qrels.get(q.qid)!) {
        pairs++;
        if (words.every((w) => text.get(pid)!.has(w))) full++;
      }
    }
    expect(full / pairs).toBeLessThan(0.25);
  });

  it('leaves BM25 well short of perfect on the dev queries, yet above chance', async () => {
    const f = await generate(await tmp(), {});
    const res = evaluate(await readQrels(f.qrelsDev), await readRun(f.bm25Dev), { measures: ['mrr@10', 'ndcg@10'] });
    expect(res.measures['mrr@10'].all).toBeGreaterThan(0.2);
    expect(res.measures['mrr@10'].all).toBeLessThan(0.65);
    expect(res.measures['ndcg@10'].all).toBeLessThan(0.45);
  });
});
