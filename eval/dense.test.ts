import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { rng } from '../common/rng.js';
import type { Run } from '../data/runs.js';
import { DistilBert } from '../models/distilbert.js';
import { testBackend } from '../models/engine/testing.js';
import { loadTokenizer, type Tokenizer } from '../data/tokenizer.js';
import { embedTexts } from './embed.js';
import { encodeCollection, readIndexManifest } from './vector-index.js';

/** The stand-in encoder's identity in index manifests (a real model folder's is its path and weights hash). */
const MEAN_POOL = { model: 'mean-pool', weights: 'mean-pool' };
import { rerank } from './rerank.js';
import { ExactSearch, retrieve, scanScores, selectionFor } from './retrieve.js';
import { TopK } from './topk.js';
import { meanPoolEncoder } from '../models/testing.js';
import { generatedCollection } from './testing.js';

let tokenizer: Tokenizer;
let model: ReturnType<typeof meanPoolEncoder>;
const passages = generatedCollection(50);
const queries = new Map([['q1', 'apple river'], ['q2', 'winter ocean coffee'], ['q3', 'doctor']]);

testBackend();
beforeAll(async () => {
  model = meanPoolEncoder(30522, 16);
  tokenizer = await loadTokenizer(sharedPath('data/vocab/bert-base-uncased-vocab.txt'));
});

const dot = (a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number => {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
};

/** Brute force: every passage scored in JS, sorted by score desc then index asc. */
async function bruteForce(k: number): Promise<Map<string, string[]>> {
  const q = await embedTexts(model, tokenizer, [...queries.values()], 30, 8);
  const p = await embedTexts(model, tokenizer, passages.map((x) => x.text), 64, 8);
  const out = new Map<string, string[]>();
  [...queries.keys()].forEach((qid, r) => {
    const scored = passages.map((x, i) => ({ id: x.id, i, s: dot(q.vectors, r * q.dim, p.vectors, i * p.dim, p.dim) }));
    scored.sort((a, b) => b.s - a.s || a.i - b.i);
    out.set(qid, scored.slice(0, k).map((x) => x.id));
  });
  return out;
}

describe('ExactSearch', () => {
  for (const selection of ['host', 'device'] as const) {
    it(`${selection} selection equals a JS loop over chunked, multi-block input and leaks no tensors`, async () => {
      const dim = 8;
      const nq = 7;
      const nd = 61;
      const r = rng(11);
      const rnd = (): number => r() - 0.5;
      const q = Float32Array.from({ length: nq * dim }, rnd);
      const d = Float32Array.from({ length: nd * dim }, rnd);
      const before = tf.memory().numTensors;
      const search = new ExactSearch(q, dim, { k: 9, queryChunk: 3, docChunk: 7, selection });
      search.add(d.subarray(0, 20 * dim));
      search.add(d.subarray(20 * dim));
      const { indices, scores } = await search.result();
      search.dispose();
      expect(tf.memory().numTensors).toBe(before);
      for (let r = 0; r < nq; r++) {
        const expected = Array.from({ length: nd }, (_, i) => ({ i, s: Math.fround(dot(q, r * dim, d, i * dim, dim)) }))
          .sort((a, b) => b.s - a.s || a.i - b.i)
          .slice(0, 9);
        expect(Array.from(indices[r])).toEqual(expected.map((x) => x.i));
        scores[r].forEach((v, j) => expect(v).toBeCloseTo(expected[j].s, 5));
      }
    });

    it(`${selection} selection keeps the lower document index among equal scores, across chunks`, async () => {
      // Documents 0..9 alternate between two vectors: scores tie in pairs of five, split over chunks of 3.
      const d = Float32Array.from({ length: 10 * 2 }, (_, i) => ((i >> 1) % 2 === 0 ? [1, 0] : [0, 2])[i % 2]);
      const search = new ExactSearch(Float32Array.of(1, 1), 2, { k: 7, queryChunk: 1, docChunk: 3, selection });
      search.add(d);
      const { indices, scores } = await search.result();
      search.dispose();
      expect(Array.from(indices[0])).toEqual([1, 3, 5, 7, 9, 0, 2]);
      expect(Array.from(scores[0])).toEqual([2, 2, 2, 2, 2, 1, 1]);
    });
  }

  it('scanScores: buffered candidates flushed mid-block still give the exact top-k with ties in id order', () => {
    // 5,000 rows x 3 queries: the first block fills each 1,024-slot buffer several times before the end.
    const r = rng(5);
    const rnd = (): number => Math.round(r() * 200) / 8; // many ties
    const n = 5000;
    const values = Float32Array.from({ length: n * 3 }, rnd);
    const heaps = [new TopK(10), new TopK(10), new TopK(10)];
    scanScores(values.subarray(0, 2000 * 3), 2000, heaps, 0);
    scanScores(values.subarray(2000 * 3), n - 2000, heaps, 2000);
    for (let j = 0; j < 3; j++) {
      const expected = Array.from({ length: n }, (_, i) => ({ id: i, score: values[i * 3 + j] }))
        .sort((a, b) => b.score - a.score || a.id - b.id)
        .slice(0, 10);
      expect(heaps[j].result()).toEqual(expected);
    }
  });

  it('selects on the host where the scores are already in process memory', () => {
    expect(['wasm', 'cpu', 'tensorflow', 'webgpu'].map(selectionFor)).toEqual(['host', 'host', 'device', 'device']);
  });
});

describe('encode + retrieve', () => {
  it('encodes in resumable shards split across two parts and retrieves the exact top-k', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'index-'));
    const opts = { ...MEAN_POOL, maxLength: 64, batchSize: 8, shardSize: 16, dtype: 'float32' as const };
    const first = await encodeCollection(model, tokenizer, toAsync(passages), dir, { ...opts, part: { part: 0, of: 2 } });
    expect(first).toMatchObject({ rows: 50, shardCount: 4, complete: false, dim: 16 });
    expect(first.shards.map((s) => s.index)).toEqual([0, 2]);
    const retrieveOpts = { model: MEAN_POOL, k: 5, queryChunk: 2, docChunk: 10, queryMaxLength: 30, batchSize: 8 };
    await expect(retrieve(model, tokenizer, queries, dir, retrieveOpts)).rejects.toThrow('2 of 4 shards');
    const events: [number, boolean][] = [];
    const second = await encodeCollection(model, tokenizer, toAsync(passages), dir, { ...opts, onShard: (i, skipped) => events.push([i.index, skipped]) });
    expect(second.complete).toBe(true);
    expect(events).toEqual([[0, true], [1, false], [2, true], [3, false]]);
    expect(second.shards.map((s) => s.rows)).toEqual([16, 16, 16, 2]);

    const run = await retrieve(model, tokenizer, queries, dir, retrieveOpts);
    const expected = await bruteForce(5);
    for (const [qid, docs] of run) expect(docs.map((d) => d.docno)).toEqual(expected.get(qid));

    // Resume after losing a shard: only that one is encoded again.
    rmSync(path.join(dir, 'shard-00001.json'));
    events.length = 0;
    await encodeCollection(model, tokenizer, toAsync(passages), dir, { ...opts, onShard: (i, skipped) => events.push([i.index, skipped]) });
    expect(events).toEqual([[0, true], [1, false], [2, true], [3, true]]);
    await expect(encodeCollection(model, tokenizer, toAsync(passages), dir, { ...opts, maxLength: 32 })).rejects.toThrow('use another --out for other settings');
    // Another model's vectors (weights changed in place: same folder, another hash) never join the index, and
    // its queries are not searched against it.
    const other = { ...MEAN_POOL, weights: 'sha256:other' };
    const manifest = path.join(dir, 'manifest.json');
    await expect(encodeCollection(model, tokenizer, toAsync(passages), dir, { ...opts, ...other })).rejects.toThrow(`${manifest}: expected the model this index was encoded with (mean-pool, weights mean-pool…) to encode more of it`);
    await expect(retrieve(model, tokenizer, queries, dir, { ...retrieveOpts, model: other })).rejects.toThrow(`${manifest}: expected the model this index was encoded with`);
    // The same weights from another folder are the same model.
    await encodeCollection(model, tokenizer, toAsync(passages), dir, { ...opts, model: '/elsewhere/mean-pool' });
    await retrieve(model, tokenizer, queries, dir, { ...retrieveOpts, model: { ...MEAN_POOL, model: '/elsewhere' } });
  });

  it('refuses a shard file changed in place (same size), naming it; re-encoding that shard mends the index', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'index-flip-'));
    const opts = { ...MEAN_POOL, maxLength: 64, batchSize: 8, shardSize: 16, dtype: 'float32' as const };
    const retrieveOpts = { model: MEAN_POOL, k: 5, queryChunk: 2, docChunk: 10, queryMaxLength: 30, batchSize: 8 };
    await encodeCollection(model, tokenizer, toAsync(passages), dir, opts);
    const good = await retrieve(model, tokenizer, queries, dir, retrieveOpts);
    const file = path.join(dir, 'shard-00001.f32');
    const bytes = readFileSync(file);
    bytes[7] ^= 0x01; // a low mantissa bit: scores barely move, so nothing else would notice
    writeFileSync(file, bytes);
    await expect(retrieve(model, tokenizer, queries, dir, retrieveOpts)).rejects.toThrow(
      `${file}: expected the content shard-00001.json lists (remove that .json and run eval encode again: it encodes that shard anew), got a file changed since it was written (sha256 differs)`,
    );
    rmSync(path.join(dir, 'shard-00001.json'));
    await encodeCollection(model, tokenizer, toAsync(passages), dir, opts);
    expect(await retrieve(model, tokenizer, queries, dir, retrieveOpts)).toEqual(good);
  });

  it('writes float16 shards at half the size with nearly the same ranking', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'index16-'));
    const m = await encodeCollection(model, tokenizer, toAsync(passages), dir, { ...MEAN_POOL, maxLength: 64, batchSize: 8, shardSize: 100, dtype: 'float16' });
    expect(existsSync(path.join(dir, m.shards[0].vectors))).toBe(true);
    expect((await readIndexManifest(dir)).shards[0].vectors).toBe('shard-00000.f16');
    const run = await retrieve(model, tokenizer, queries, dir, { model: MEAN_POOL, k: 1, queryChunk: 8, docChunk: 64, queryMaxLength: 30, batchSize: 8 });
    const expected = await bruteForce(1);
    for (const [qid, docs] of run) expect(docs[0].docno).toBe(expected.get(qid)![0]);
  });
});

describe('rerank', () => {
  it('scores each candidate by the dot product of CLS vectors and errors on a missing passage', async () => {
    const texts = new Map(passages.map((p) => [p.id, p.text]));
    const candidates: Run = new Map([
      ['q1', passages.slice(0, 12).map((p, i) => ({ docno: p.id, score: 12 - i }))],
      ['q3', passages.slice(5, 9).map((p) => ({ docno: p.id, score: 1 }))],
    ]);
    const out = await rerank(model, tokenizer, queries, texts, candidates, { queryMaxLength: 30, passageMaxLength: 64, batchSize: 5, depth: 10 });
    expect(out.get('q1')).toHaveLength(10);
    const q = await embedTexts(model, tokenizer, [queries.get('q1')!], 30, 1);
    const p = await embedTexts(model, tokenizer, [texts.get('p3')!], 64, 1);
    expect(out.get('q1')!.find((d) => d.docno === 'p3')!.score).toBeCloseTo(dot(q.vectors, 0, p.vectors, 0, q.dim), 5);
    const bad: Run = new Map([['q1', [{ docno: 'nope', score: 1 }]]]);
    await expect(rerank(model, tokenizer, queries, texts, bad, { queryMaxLength: 30, passageMaxLength: 64, batchSize: 5 })).rejects.toThrow('passage nope');
  });
});

async function* toAsync<T>(xs: T[]): AsyncGenerator<T> {
  yield* xs;
}

describe('with DistilBert.random', () => {
  it('re-ranking all passages and exact retrieval over encoded shards give the same top-3', async () => {
    const bert = DistilBert.random({ vocab_size: 30522, dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32 }, 7);
    const docs = generatedCollection(20, 9);
    const texts = new Map(docs.map((d) => [d.id, d.text]));
    const all: Run = new Map([...queries.keys()].map((q) => [q, docs.map((d) => ({ docno: d.id, score: 0 }))]));
    const reranked = await rerank(bert, tokenizer, queries, texts, all, { queryMaxLength: 16, passageMaxLength: 24, batchSize: 8 });
    const dir = mkdtempSync(path.join(tmpdir(), 'index-bert-'));
    await encodeCollection(bert, tokenizer, toAsync(docs), dir, { model: 'random', weights: 'random', maxLength: 24, batchSize: 8, shardSize: 7, dtype: 'float32' });
    const before = tf.memory().numTensors;
    const dense = await retrieve(bert, tokenizer, queries, dir, { model: { model: 'random', weights: 'random' }, k: 3, queryChunk: 2, docChunk: 5, queryMaxLength: 16, batchSize: 8 });
    expect(tf.memory().numTensors).toBe(before);
    for (const [qid, docsOut] of dense) {
      const expected = [...reranked.get(qid)!].sort((a, b) => b.score - a.score).slice(0, 3);
      expect(docsOut.map((d) => d.docno)).toEqual(expected.map((d) => d.docno));
      docsOut.forEach((d, i) => expect(d.score).toBeCloseTo(expected[i].score, 4));
    }
    bert.dispose();
  });
});
