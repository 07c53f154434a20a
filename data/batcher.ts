import path from 'node:path';
import PQueue from 'p-queue';
import { InputError } from '../common/errors.js';
import type { BatchCursor, BatchSource, GroupBatch } from './batch.js';
import { padRows } from './collate.js';
import { MANIFEST, readManifest, type Manifest, type TablePart } from './manifest.js';
import { readGroupShard, readTokenShard } from './shards.js';
import { RowBuf, ShuffledRows } from './shuffle.js';
import { concatTables, type TokenTable } from './token-table.js';

export interface BatchOptions {
  batchSize: number;
  seed: number;
  /** Rows in the shuffle buffer; 1 keeps file order. */
  shuffleBuffer: number;
  /** Batches assembled ahead of the trainer. */
  prefetch: number;
  /** Passes over the training examples (default 1). */
  epochs?: number;
}

const CURSOR_FORMAT = 'margin-mse-batches/2';

/**
 * Group batches from a cache that `data prepare` wrote: B queries × G = 1 + K passages (K = 1 for triples).
 * The query and passage token tables are loaded into memory (as uint16 for vocabularies up to 65,536 ids:
 * half the bytes of int32); group shards stream through a seeded shuffle buffer. Queries are padded to the
 * batch's longest query, passages (group-major) to its longest passage.
 *
 * The cursor is the number of batches handed out plus what the order depends on; restoring replays the
 * (cheap, token-free) row order up to that point, so the following batches are exactly those of an
 * uninterrupted run. Prefetch: a p-queue of concurrency 1 keeps `prefetch` batches in the making.
 */
export async function openBatches(cacheDir: string, opts: BatchOptions, cursor?: BatchCursor): Promise<BatchSource> {
  const manifest = await readManifest(cacheDir);
  if (!(opts.batchSize > 0 && opts.shuffleBuffer > 0 && opts.prefetch > 0))
    throw new RangeError(`batchSize, shuffleBuffer and prefetch must be positive, got ${JSON.stringify(opts)}`);
  const [queries, passages] = await Promise.all([loadTable(cacheDir, manifest, manifest.queries), loadTable(cacheDir, manifest, manifest.passages)]);
  const { shards, size: group } = manifest.groups;
  const rows = new ShuffledRows(shards.length, (i) => readGroupShard(cacheDir, shards[i]), opts.seed, opts.shuffleBuffer, group, opts.epochs ?? 1);
  const identity = { format: CURSOR_FORMAT, cache: manifest.created, groups: manifest.groups.rows, seed: opts.seed, batch_size: opts.batchSize, shuffle_buffer: opts.shuffleBuffer };

  let handedOut = 0;
  if (cursor) {
    for (const [k, v] of Object.entries(identity))
      if (cursor[k] !== v)
        throw new InputError('batch cursor', undefined, `${k} = ${JSON.stringify(v)} as in this data cache and batch settings`, JSON.stringify(cursor[k]));
    handedOut = Number(cursor.batches);
    if (!Number.isInteger(handedOut) || handedOut < 0) throw new InputError('batch cursor', undefined, 'batches as a non-negative integer', JSON.stringify(cursor.batches));
    await rows.take(handedOut * opts.batchSize, null);
  }

  const queue = new PQueue({ concurrency: 1 });
  const pending: Promise<GroupBatch | null>[] = [];
  const buf = new RowBuf(opts.batchSize, group);
  const make = async (): Promise<GroupBatch | null> => {
    const n = await rows.take(opts.batchSize, buf);
    return n === 0 ? null : assemble(buf, n, queries, passages, manifest.has_teacher);
  };
  const topUp = () => {
    while (pending.length < opts.prefetch) pending.push(queue.add(make) as Promise<GroupBatch | null>);
  };
  let finished = false;

  return {
    async next() {
      if (finished) return null;
      topUp();
      const batch = await pending.shift()!;
      if (batch === null) {
        finished = true;
        return null;
      }
      handedOut++;
      topUp();
      return batch;
    },
    cursor: () => ({ ...identity, batches: handedOut }),
    async close() {
      finished = true;
      queue.clear();
      await queue.onIdle();
    },
  };
}

async function loadTable(cacheDir: string, manifest: Manifest, part: TablePart): Promise<TokenTable> {
  const tables = await Promise.all(part.shards.map((s) => readTokenShard(cacheDir, s)));
  const table = concatTables(tables, manifest.token_width);
  if (table.rows !== part.rows) throw new InputError(path.join(cacheDir, MANIFEST), undefined, `${part.rows} rows in the shards`, `${table.rows}`);
  return table;
}

/** Pads the queries and the passages each to their longest row in the batch (data/collate.ts); mask 1 on tokens, 0 on [PAD]=0. */
function assemble(buf: RowBuf, size: number, queries: TokenTable, passages: TokenTable, hasTeacher: boolean): GroupBatch {
  const rows = (table: TokenTable, r: ArrayLike<number>) => padRows(Array.from(r, (i) => table.values.subarray(table.offsets[i], table.offsets[i + 1])));
  const g = buf.group;
  return {
    size,
    group: g,
    queries: rows(queries, buf.q.subarray(0, size)), // [size, qLen]
    passages: rows(passages, buf.p.subarray(0, size * g)), // [size * G, pLen], group-major
    teacher: buf.score.slice(0, size * g),
    hasTeacher,
  };
}
