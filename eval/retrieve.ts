import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import path from 'node:path';
import { ConfigError } from '../common/errors.js';
import type { Run } from '../data/runs.js';
import { embedTexts, type Encoder, type TextTokenizer } from './embed.js';
import { checkSameModel, loadVectorShard, readIndexManifest, type ModelIdentity } from './vector-index.js';
import { TopK } from './topk.js';

export interface SearchOptions {
  k: number;
  /** Queries per matmul. */
  queryChunk: number;
  /** Document vectors per matmul: bounds the [queryChunk, docChunk] score block in memory. */
  docChunk: number;
  /** Where the top-k is selected; default: selectionFor(the active backend). */
  selection?: 'host' | 'device';
}

/**
 * Exact maximum-inner-product top-k on the active tfjs backend (GPU when there is one). Documents arrive
 * in blocks (shards, possibly larger than memory in total); each block is cut into `docChunk` slices and
 * scored against every query chunk with one matMul. The product is computed as docs · queriesᵀ with
 * queriesᵀ kept from the start: on wasm, XNNPACK packs the right-hand matrix on every call, and packing the
 * small [dim, queries] one is faster than queries · docsᵀ, which packs or transposes the big block.
 *
 * Where the top-k is selected depends on the backend (see `selection`):
 * - host (wasm, cpu): the [docs, queries] scores are read (they already live in this process's memory) and
 *   scanned row by row into one min-heap per query, skipping every score below that query's k-th best,
 *   which costs less than the transpose alone that tf.topk needs first (figures: docs/eval.md).
 * - device (tensorflow, webgpu): tf.topk on the transposed scores, merged into the running top-k by a second
 *   topk over [running k | new k], so a GPU never sends a whole score block back.
 * Ties keep the lower document index first (the heap's order; tf.topk is stable on cpu and wasm).
 */
export class ExactSearch {
  private readonly queryTensors: tf.Tensor2D[] = []; // each [dim, qc] (transposed)
  private readonly selection: 'host' | 'device';
  private readonly heaps: TopK[] = []; // host: one per query
  private best: { values: tf.Tensor2D; indices: tf.Tensor2D }[] = []; // device: per query chunk, [qc, ≤k]
  private seen = 0;

  constructor(queries: Float32Array, readonly dim: number, private readonly opts: SearchOptions) {
    const n = queries.length / dim;
    for (let s = 0; s < n; s += opts.queryChunk) {
      const rows = Math.min(opts.queryChunk, n - s);
      this.queryTensors.push(tf.tidy(() => tf.transpose(tf.tensor2d(queries.subarray(s * dim, (s + rows) * dim), [rows, dim]))));
    }
    this.selection = opts.selection ?? selectionFor(tf.getBackend());
    if (this.selection === 'host') for (let q = 0; q < n; q++) this.heaps.push(new TopK(opts.k));
  }

  /** Adds `docs` ([rows, dim]) as global documents seen..seen+rows-1. */
  add(docs: Float32Array): void {
    const rows = docs.length / this.dim;
    for (let s = 0; s < rows; s += this.opts.docChunk) {
      const n = Math.min(this.opts.docChunk, rows - s);
      const offset = this.seen + s;
      const block = tf.tensor2d(docs.subarray(s * this.dim, (s + n) * this.dim), [n, this.dim]); // [n, dim]
      let firstQuery = 0;
      for (const [c, q] of this.queryTensors.entries()) {
        if (this.selection === 'host') this.scanBlock(block, q, offset, firstQuery);
        else this.mergeOnDevice(block, q, offset, c);
        firstQuery += q.shape[1];
      }
      block.dispose();
    }
    this.seen += rows;
  }

  /** Host selection: scores [n, qc] into the heaps of queries firstQuery..firstQuery+qc-1. */
  private scanBlock(block: tf.Tensor2D, q: tf.Tensor2D, offset: number, firstQuery: number): void {
    const scores = tf.matMul(block, q) as tf.Tensor2D; // [n, qc]
    try {
      scanScores(readScores(scores), scores.shape[0], this.heaps.slice(firstQuery, firstQuery + q.shape[1]), offset);
    } finally {
      scores.dispose();
    }
  }

  /** Device selection: topk of this block, merged with the running top-k of query chunk `c`. */
  private mergeOnDevice(block: tf.Tensor2D, q: tf.Tensor2D, offset: number, c: number): void {
    const prev = this.best[c];
    const n = block.shape[0];
    const next = tf.tidy(() => {
      const scores = tf.transpose(tf.matMul(block, q)); // [n, qc] → [qc, n]
      const top = tf.topk(scores, Math.min(this.opts.k, n));
      const indices = tf.add(top.indices, tf.scalar(offset, 'int32')) as tf.Tensor2D; // [qc, ≤k] global
      if (!prev) return { values: top.values as tf.Tensor2D, indices };
      const values = tf.concat([prev.values, top.values as tf.Tensor2D], 1); // [qc, ≤2k]
      const all = tf.concat([prev.indices, indices], 1);
      const merged = tf.topk(values, Math.min(this.opts.k, values.shape[1]));
      return { values: merged.values as tf.Tensor2D, indices: tf.gather(all, merged.indices, 1, 1) as tf.Tensor2D };
    });
    if (prev) {
      prev.values.dispose();
      prev.indices.dispose();
    }
    this.best[c] = next;
  }

  /** Best-first document indices and scores per query. */
  async result(): Promise<{ indices: Int32Array[]; scores: Float32Array[] }> {
    const indices: Int32Array[] = [];
    const scores: Float32Array[] = [];
    if (this.selection === 'host') {
      for (const h of this.heaps) {
        const kept = h.result();
        indices.push(Int32Array.from(kept, (e) => e.id));
        scores.push(Float32Array.from(kept, (e) => e.score));
      }
      return { indices, scores };
    }
    // Read asynchronously: webgpu cannot read synchronously in Node.
    for (const { values, indices: idx } of this.best) {
      const [rows, k] = values.shape;
      const v = (await values.data()) as Float32Array;
      const i = (await idx.data()) as Int32Array;
      for (let r = 0; r < rows; r++) {
        scores.push(v.slice(r * k, (r + 1) * k));
        indices.push(i.slice(r * k, (r + 1) * k));
      }
    }
    return { indices, scores };
  }

  dispose(): void {
    for (const t of this.queryTensors) t.dispose();
    for (const b of this.best) {
      b.values.dispose();
      b.indices.dispose();
    }
    this.best = [];
  }
}

/** Host selection where the scores already sit in this process's memory and reads are synchronous. */
export function selectionFor(backend: string): 'host' | 'device' {
  return backend === 'wasm' || backend === 'cpu' ? 'host' : 'device';
}

/**
 * The values of a host-selection score block. On wasm a view into the module's heap, not a copy (copying a
 * whole block is a sizeable part of the scan; docs/eval.md): valid until the next tensor is allocated, which
 * scanScores does not do.
 */
function readScores(scores: tf.Tensor2D): Float32Array {
  if (tf.getBackend() === 'wasm') return (tf.backend() as BackendWasm).typedArrayFromHeap(scores) as Float32Array;
  return scores.dataSync() as Float32Array;
}

/** Candidates buffered per query before they go into its heap. */
const FLUSH = 1024;

/**
 * Pushes document offset+i's score for query j (values[i * heaps.length + j], i < n) into heaps[j].
 * One pass over the rows; a score at or above its query's floor is appended to that query's buffer, and a
 * full buffer is pushed into the heap in one go, which raises the floor. Why buffered: pushed as found, each
 * push walks a different one of the heaps (one per query) and misses the cache; a flush walks one heap while
 * it is hot (figures: docs/eval.md). Document order within a query is kept, so ties stay in TopK's order.
 */
export function scanScores(values: Float32Array, n: number, heaps: TopK[], offset: number): void {
  const qc = heaps.length;
  const floor = Float32Array.from(heaps, (h) => h.floor());
  const bufScores = new Float32Array(qc * FLUSH);
  const bufIds = new Int32Array(qc * FLUSH);
  const count = new Int32Array(qc);
  const flush = (j: number): void => {
    const heap = heaps[j];
    for (let t = j * FLUSH, end = t + count[j]; t < end; t++) heap.push(bufScores[t], bufIds[t]);
    count[j] = 0;
    floor[j] = heap.floor();
  };
  for (let i = 0; i < n; i++) {
    const row = i * qc;
    for (let j = 0; j < qc; j++) {
      const v = values[row + j];
      if (v < floor[j]) continue;
      const c = count[j];
      bufScores[j * FLUSH + c] = v;
      bufIds[j * FLUSH + c] = offset + i;
      count[j] = c + 1;
      if (c + 1 === FLUSH) flush(j);
    }
  }
  for (let j = 0; j < qc; j++) flush(j);
}

/**
 * Dense retrieval: embeds the queries, scans the vector shards of `indexDir` (see vector-index.ts) in order,
 * and returns the exact top-k run by inner product.
 */
export interface RetrieveOptions extends SearchOptions {
  /** The query encoder's weights (vector-index.ts modelIdentity): must be the index's. */
  model: ModelIdentity;
  queryMaxLength: number;
  /** Queries per encoder call. */
  batchSize: number;
  onShard?: (done: number, total: number) => void;
}

export async function retrieve(model: Encoder, tokenizer: TextTokenizer, queries: Map<string, string>, indexDir: string, opts: RetrieveOptions): Promise<Run> {
  const manifest = await readIndexManifest(indexDir);
  const manifestFile = path.join(indexDir, 'manifest.json');
  if (!manifest.complete) {
    throw new ConfigError(`${indexDir}/manifest.json: ${manifest.shards.length} of ${manifest.shardCount} shards are encoded; finish eval encode first (every --shard part)`);
  }
  checkSameModel(manifestFile, manifest.config, opts.model, 'retrieve');
  const qids = [...queries.keys()];
  const q = await embedTexts(model, tokenizer, [...queries.values()], opts.queryMaxLength, opts.batchSize); // [nq, dim]
  if (q.dim !== manifest.dim) throw new ConfigError(`${indexDir}: query vectors have dim ${q.dim}, the index ${manifest.dim}: was it encoded with another model?`);
  const search = new ExactSearch(q.vectors, q.dim, opts);
  const ids: string[] = [];
  try {
    for (const [n, info] of [...manifest.shards].sort((a, b) => a.index - b.index).entries()) {
      const shard = await loadVectorShard(indexDir, info);
      search.add(shard.vectors);
      for (const id of shard.ids) ids.push(id);
      opts.onShard?.(n + 1, manifest.shards.length);
    }
    const { indices, scores } = await search.result();
    const run: Run = new Map();
    qids.forEach((qid, r) => run.set(qid, Array.from(indices[r], (d, j) => ({ docno: ids[d], score: scores[r][j] }))));
    return run;
  } finally {
    search.dispose();
  }
}
