import { truncateSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { tempFiles } from '../common/testing.js';
import type { GroupBatch } from './batch.js';
import { openBatches, type BatchOptions } from './batcher.js';
import { prepare } from './prepare.js';
import { COLLECTION, allBatches, fixture as fixtureIn, tokenRow as row, tripleLine } from './testing.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import { loadIdText } from './tsv.js';

const files = tempFiles('batcher-');
const fixture = (name: string) => fixtureIn(files, name);
let tok: Tokenizer;
let passages: Map<string, string>;

/** A batch as one string (typed arrays as base64): deep equality on typed arrays is slow in vitest. */
const sig = (b: GroupBatch) =>
  JSON.stringify(b, (_k, v: unknown) => (ArrayBuffer.isView(v) ? `${v.constructor.name}:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}` : v));

beforeAll(async () => {
  tok = await loadTokenizer(sharedPath('data', 'vocab', 'bert-base-uncased-vocab.txt'));
  passages = await loadIdText(COLLECTION);
});

describe('batches of a prepared cache', () => {
  it('batches carry the right tokens, padding, masks and teacher scores (file order; a triple is a group of 2)', async () => {
    const cfg = fixture('ids');
    await prepare(cfg);
    const batches = await allBatches(cfg.cache_dir, { batchSize: 32, seed: 1, shuffleBuffer: 1, prefetch: 2 });
    expect(batches.map((b) => b.size)).toEqual([32, 32, 32, 32, 22]);
    const b = batches[1];
    expect(b.group).toBe(2);
    for (let i = 0; i < b.size; i++) {
      const line = 32 + i;
      const [ps, ns, qid, pos, neg] = tripleLine(line).split('\t');
      expect(row(b.passages, 2 * i)).toEqual(Array.from(tok.encode(passages.get(pos)!, 64)));
      expect(row(b.passages, 2 * i + 1)).toEqual(Array.from(tok.encode(passages.get(neg)!, 64)));
      expect(row(b.queries, i)).toEqual(Array.from(tok.encode(`query number ${Number(qid) - 1000} about the manhattan project`, 8)));
      expect([b.teacher[2 * i], b.teacher[2 * i + 1]]).toEqual([Number(ps), Number(ns)]);
    }
    // padded to the longest row of each part; padding is [PAD]=0 with mask 0
    expect(b.passages.len).toBe(Math.max(...Array.from({ length: 64 }, (_, i) => row(b.passages, i).length)));
    expect(b.queries.ids.length).toBe(32 * b.queries.len);
    expect(b.passages.ids.length).toBe(64 * b.passages.len);
    for (let k = 0; k < b.passages.ids.length; k++) if (b.passages.mask[k] === 0) expect(b.passages.ids[k]).toBe(0);
  });

  it('a truncated shard gives a clear error naming it', async () => {
    const cfg = fixture('trunc');
    await prepare(cfg);
    const shard = path.join(cfg.cache_dir, 'passages-00001.arrow');
    truncateSync(shard, 100);
    await expect(openBatches(cfg.cache_dir, { batchSize: 8, seed: 1, shuffleBuffer: 4, prefetch: 1 })).rejects.toThrow(
      new RegExp(`${shard}: expected \\d+ bytes: a complete shard as manifest.json lists it .*got 100 bytes`),
    );
  });
});

describe('batcher order and cursor', () => {
  const opts: BatchOptions = { batchSize: 7, seed: 11, shuffleBuffer: 50, prefetch: 3, epochs: 2 };
  const key = (b: GroupBatch, i: number) =>
    `${row(b.queries, i).join(',')}|${b.teacher.subarray(2 * i, 2 * i + 2).join(',')}|${row(b.passages, 2 * i).join(',')}|${row(b.passages, 2 * i + 1).join(',')}`;
  const keys = (bs: GroupBatch[]) => bs.flatMap((b) => Array.from({ length: b.size }, (_, i) => key(b, i)));

  it('shuffles deterministically, each epoch a permutation of all triples', async () => {
    const cfg = fixture('order');
    await prepare(cfg);
    const plain = keys(await allBatches(cfg.cache_dir, { ...opts, shuffleBuffer: 1, epochs: 1 }));
    const a = keys(await allBatches(cfg.cache_dir, opts));
    const b = keys(await allBatches(cfg.cache_dir, opts));
    const c = keys(await allBatches(cfg.cache_dir, { ...opts, seed: 12 }));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.length).toBe(300);
    expect(a.slice(0, 150)).not.toEqual(plain);
    expect([...a.slice(0, 150)].sort()).toEqual([...plain].sort());
    expect([...a.slice(150)].sort()).toEqual([...plain].sort());
    expect(a.slice(150)).not.toEqual(a.slice(0, 150));
  });

  it('restoring a cursor gives exactly the batches of the uninterrupted run', async () => {
    const cfg = fixture('cursor');
    await prepare(cfg);
    const full = (await allBatches(cfg.cache_dir, opts)).map(sig);
    expect(full.length).toBe(Math.ceil(300 / 7));
    for (const stop of [0, 1, 5, 21, 22, 40]) {
      const src = await openBatches(cfg.cache_dir, opts);
      for (let i = 0; i < stop; i++) await src.next();
      const cursor = JSON.parse(JSON.stringify(src.cursor())) as Record<string, unknown>;
      await src.close();
      expect(cursor.batches).toBe(stop);
      const rest = (await allBatches(cfg.cache_dir, opts, cursor)).map(sig);
      expect(rest).toEqual(full.slice(stop));
    }
  });

  it('refuses a cursor made with other settings', async () => {
    const cfg = fixture('cursor2');
    await prepare(cfg);
    const src = await openBatches(cfg.cache_dir, opts);
    await src.next();
    const cursor = src.cursor();
    await src.close();
    await expect(openBatches(cfg.cache_dir, { ...opts, seed: 99 }, cursor)).rejects.toThrow(/batch cursor: expected seed = 99 as in this data cache and batch settings, got 11/);
  });
});
