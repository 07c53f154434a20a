import path from 'node:path';
import PQueue from 'p-queue';
import { InputError } from '../common/errors.js';
import type { BatchCursor, BatchSource, TripleBatch } from './batch.js';
import { padRows } from './collate.js';
import { MANIFEST, readManifest, type Manifest, type TablePart } from './manifest.js';
import { readTokenShard, readTripleShard } from './shards.js';
import { RowBuf, ShuffledRows } from './shuffle.js';
import { concatTables, type TokenTable } from './token-table.js';

export interface BatchOptions {
  batchSize: number;
  seed: number;
  /** Rows in the shuffle buffer; 1 keeps file order. */
  shuffleBuffer: number;
  /** Batches assembled ahead of the trainer. */
  prefetch: number;
  /** Passes over the triples (default 1). */
  epochs?: number;
}

const CURSOR_FORMAT = 'margin-mse-batches/1';

/**
 * Batches from a cache that `data prepare` wrote. The query and passage token tables are loaded into
 * memory (as uint16 for vocabularies up to 65,536 ids: half the bytes of int32); triple shards stream
 * through a seeded shuffle buffer. Every batch is padded per part to its longest row.
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
  const shards = manifest.triples.shards;
  const rows = new ShuffledRows(shards.length, (i) => readTripleShard(cacheDir, shards[i]), opts.seed, opts.shuffleBuffer, opts.epochs ?? 1);
  const identity = { format: CURSOR_FORMAT, cache: manifest.created, triples: manifest.triples.rows, seed: opts.seed, batch_size: opts.batchSize, shuffle_buffer: opts.shuffleBuffer };

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
  const pending: Promise<TripleBatch | null>[] = [];
  const buf = new RowBuf(opts.batchSize);
  const make = async (): Promise<TripleBatch | null> => {
    const n = await rows.take(opts.batchSize, buf);
    return n === 0 ? null : assemble(buf, n, queries, passages, manifest.has_teacher);
  };
  const topUp = () => {
    while (pending.length < opts.prefetch) pending.push(queue.add(make) as Promise<TripleBatch | null>);
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

/** Pads each part to its longest row in the batch (data/collate.ts); mask 1 on tokens, 0 on [PAD]=0. */
function assemble(buf: RowBuf, size: number, queries: TokenTable, passages: TokenTable, hasTeacher: boolean): TripleBatch {
  const part = (table: TokenTable, rows: Int32Array) =>
    padRows(Array.from(rows.subarray(0, size), (r) => table.values.subarray(table.offsets[r], table.offsets[r + 1]))); // [size, len]
  const q = part(queries, buf.q);
  const p = part(passages, buf.pos);
  const n = part(passages, buf.neg);
  return {
    size,
    qLen: q.len,
    qIds: q.ids,
    qMask: q.mask,
    pLen: p.len,
    posIds: p.ids,
    posMask: p.mask,
    nLen: n.len,
    negIds: n.ids,
    negMask: n.mask,
    teacherPos: buf.ps.slice(0, size),
    teacherNeg: buf.ns.slice(0, size),
    hasTeacher,
  };
}
