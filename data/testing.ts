import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sharedPath } from '../common/paths.js';
import type { TempFiles } from '../common/testing.js';
import type { GroupBatch } from './batch.js';
import { openBatches, type BatchOptions } from './batcher.js';
import type { Padded } from './collate.js';
import { DataConfig } from './config.js';

/**
 * Test helpers for data/'s tests (no test runs here): a small id-triples dataset over the 89 real sample
 * passages, and readers of the batches a cache gives.
 */
export const COLLECTION = sharedPath('data', 'msmarco-sample', 'collection.sample.tsv');

/** 20 queries over the 89 real passages, 150 id triples with scores derived from the line number. */
const QUERIES = Array.from({ length: 20 }, (_, i) => `${1000 + i}\tquery number ${i} about the manhattan project`).join('\n') + '\n';
const PIDS = readFileSync(COLLECTION, 'utf8').trimEnd().split('\n').map((l) => l.split('\t')[0]);
export const tripleLine = (i: number) => `${(i % 7) + 0.5}\t${-(i % 5)}\t${1000 + (i % 20)}\t${PIDS[(i * 7) % 89]}\t${PIDS[(i * 13 + 5) % 89]}`;
export const TRIPLES = Array.from({ length: 150 }, (_, i) => tripleLine(i)).join('\n') + '\n';

/** The data section of a cache `name` over those triples (or others), its input files written by `files`. */
export function fixture(files: TempFiles, name: string, triples = TRIPLES): DataConfig {
  return DataConfig.parse({
    collection: COLLECTION,
    queries: files(QUERIES, `${name}-queries.tsv`),
    triples: files(triples, `${name}-triples.tsv`),
    cache_dir: path.join(files.dir, name),
    shard_rows: 32,
    passage_max_length: 64,
    query_max_length: 8,
  });
}

/** Every batch of a prepared cache. */
export async function allBatches(cacheDir: string, opts: BatchOptions, cursor?: Record<string, unknown>): Promise<GroupBatch[]> {
  const src = await openBatches(cacheDir, opts, cursor);
  const out: GroupBatch[] = [];
  for (let b = await src.next(); b; b = await src.next()) out.push(b);
  await src.close();
  return out;
}

/** The real tokens of row i of a padded part, without padding. */
export const tokenRow = (p: Padded, i: number) => Array.from(p.ids.subarray(i * p.len, (i + 1) * p.len)).filter((_, j) => p.mask[i * p.len + j] === 1);
