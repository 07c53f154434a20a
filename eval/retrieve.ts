import * as tf from '@tensorflow/tfjs-core';
import type { Run } from '../data/runs.js';
import { embedTexts, type Encoder, type TextTokenizer } from './embed.js';
import { loadShard, readManifest } from './encode.js';

export interface SearchOptions {
  k: number;
  /** Queries per matmul. */
  queryChunk: number;
  /** Document vectors per matmul: bounds the [queryChunk, docChunk] score block in memory. */
  docChunk: number;
}

/**
 * Exact maximum-inner-product top-k on the active tfjs backend (GPU when there is one). Documents arrive
 * in blocks (shards, possibly larger than memory in total); each block is cut into `docChunk` slices,
 * scored against every query chunk with one matMul, reduced with tf.topk, and merged into the running
 * top-k by a second topk over [running k | new k] (so nothing larger than [queryChunk, docChunk] exists).
 * The product is computed as (docs · queriesᵀ)ᵀ with queriesᵀ kept from the start: on wasm, XNNPACK packs
 * the right-hand matrix on every call, and packing the small [dim, queries] one then transposing the
 * [docs, queries] scores measured ~2x faster than queries · docsᵀ (which packs or transposes the big block).
 * Ties keep the lower document index first when the backend's topk is stable (cpu and wasm are).
 */
export class ExactSearch {
  private readonly queryTensors: tf.Tensor2D[] = []; // each [dim, qc] (transposed)
  private best: { values: tf.Tensor2D; indices: tf.Tensor2D }[] = []; // per query chunk: [qc, ≤k]
  private seen = 0;

  constructor(queries: Float32Array, readonly dim: number, private readonly opts: SearchOptions) {
    const n = queries.length / dim;
    for (let s = 0; s < n; s += opts.queryChunk) {
      const rows = Math.min(opts.queryChunk, n - s);
      this.queryTensors.push(tf.tidy(() => tf.transpose(tf.tensor2d(queries.subarray(s * dim, (s + rows) * dim), [rows, dim]))));
    }
  }

  /** Adds `docs` ([rows, dim]) as global documents seen..seen+rows-1. */
  add(docs: Float32Array): void {
    const rows = docs.length / this.dim;
    for (let s = 0; s < rows; s += this.opts.docChunk) {
      const n = Math.min(this.opts.docChunk, rows - s);
      const offset = this.seen + s;
      const block = tf.tensor2d(docs.subarray(s * this.dim, (s + n) * this.dim), [n, this.dim]); // [n, dim]
      this.queryTensors.forEach((q, c) => {
        const prev = this.best[c];
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
      });
      block.dispose();
    }
    this.seen += rows;
  }

  /** Best-first document indices and scores per query. */
  async result(): Promise<{ indices: Int32Array[]; scores: Float32Array[] }> {
    const indices: Int32Array[] = [];
    const scores: Float32Array[] = [];
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

/**
 * Dense retrieval: embeds the queries, scans the encoded shards of `indexDir` (see encode.ts) in order,
 * and returns the exact top-k run by inner product.
 */
export async function retrieve(
  model: Encoder,
  tokenizer: TextTokenizer,
  queries: Map<string, string>,
  indexDir: string,
  opts: SearchOptions & { queryMaxLength: number; batchSize: number; onShard?: (done: number, total: number) => void },
): Promise<Run> {
  const manifest = await readManifest(indexDir);
  if (!manifest.complete) {
    throw new Error(`${indexDir}/manifest.json: ${manifest.shards.length} of ${manifest.shardCount} shards are encoded; finish eval encode first (every --shard part)`);
  }
  const qids = [...queries.keys()];
  const q = await embedTexts(model, tokenizer, [...queries.values()], opts.queryMaxLength, opts.batchSize); // [nq, dim]
  if (q.dim !== manifest.dim) throw new Error(`query vectors have dim ${q.dim}, the index ${manifest.dim}: was it encoded with another model?`);
  const search = new ExactSearch(q.vectors, q.dim, opts);
  const ids: string[] = [];
  try {
    for (const [n, info] of [...manifest.shards].sort((a, b) => a.index - b.index).entries()) {
      const shard = await loadShard(indexDir, info);
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
