import { z } from 'zod';
import type { DataConfig } from '../data/config.js';
import type { EncodeOptions, ModelIdentity } from './vector-index.js';
import { DEFAULT_MEASURES } from './measures.js';
import type { RerankOptions } from './rerank.js';
import type { RetrieveOptions } from './retrieve.js';

/** One query set to evaluate on: its queries, judgments, relevance threshold and re-ranking candidates. */
export const QuerySet = z.strictObject({
  /** Name in the report, e.g. `msmarco-dev` or `dl19`. */
  name: z.string(),
  /** `qid<TAB>text` file. */
  queries: z.string(),
  /** TREC qrels file. */
  qrels: z.string(),
  /** Grade that counts as relevant for the binary measures (MS MARCO dev 1, TREC DL 2). */
  min_rel: z.number().int().default(1),
  /** Candidate run to re-rank (e.g. a Pyserini BM25 top-1000); empty = the built-in BM25's run. */
  candidates: z.string().default(''),
});
export type QuerySet = z.output<typeof QuerySet>;

const Bm25 = z.strictObject({
  k1: z.number().positive().default(0.9),
  b: z.number().min(0).max(1).default(0.4),
  /** Depth of the runs it writes. */
  k: z.number().int().positive().default(1000),
  stopwords: z.boolean().default(true),
  /** Porter stemming (Lucene's variant, as Anserini). */
  stem: z.boolean().default(true),
  /** Lucene's one-byte document-length norms (see eval/bm25.ts). */
  lucene_norms: z.boolean().default(true),
});

/** Sequence lengths are the `data` section's (query_max_length, passage_max_length): evaluation tokenizes as training did. */
const Rerank = z.strictObject({
  batch_size: z.number().int().positive().default(32),
  /** Re-rank only the top `depth` candidates per query. */
  depth: z.number().int().positive().default(1000),
});

const Encode = z.strictObject({
  /** Passages per encoder call. */
  batch_size: z.number().int().positive().default(64),
  /** Passages per shard file (each shard is written atomically, the unit of resuming). */
  shard_size: z.number().int().positive().default(100_000),
  dtype: z.enum(['float32', 'float16']).default('float32'),
});

const Retrieve = z.strictObject({
  k: z.number().int().positive().default(1000),
  /** Queries per matmul. */
  query_chunk: z.number().int().positive().default(256),
  /** Passage vectors per matmul (bounds the [queries, docs] score block). */
  doc_chunk: z.number().int().positive().default(65_536),
});

/** The `eval` section of the config tree (see pipelines/config.ts). Every field has a default. */
export const EvalConfig = z.strictObject({
  measures: z.array(z.string()).default(() => [...DEFAULT_MEASURES]),
  /** Significance level for the report's marks against BM25 (paired t-test). */
  alpha: z.number().gt(0).lt(1).default(0.05),
  query_sets: z.array(QuerySet).default([]),
  bm25: Bm25.default(Bm25.parse({})),
  rerank: Rerank.default(Rerank.parse({})),
  encode: Encode.default(Encode.parse({})),
  retrieve: Retrieve.default(Retrieve.parse({})),
});
export type EvalConfig = z.output<typeof EvalConfig>;

/** What the config → options helpers read: the `eval` section and the `data` section's sequence lengths. */
export interface EvalSettings {
  eval: EvalConfig;
  data: Pick<DataConfig, 'query_max_length' | 'passage_max_length'>;
}

/** The lengths texts are tokenized to (with [CLS] and [SEP]), in training and in every evaluation. */
export const sequenceLengths = (data: EvalSettings['data']) => ({ queryMaxLength: data.query_max_length, passageMaxLength: data.passage_max_length });

/** Options for eval/rerank.ts from the config (callers override single fields from their flags). */
export function rerankOptions(c: EvalSettings): RerankOptions {
  return { ...sequenceLengths(c.data), batchSize: c.eval.rerank.batch_size, depth: c.eval.rerank.depth };
}

/** Options for eval/vector-index.ts's encodeCollection; `model` identifies the encoder in the index's manifest. */
export function encodeOptions(c: EvalSettings, model: ModelIdentity): EncodeOptions {
  const e = c.eval.encode;
  return { ...model, maxLength: c.data.passage_max_length, batchSize: e.batch_size, shardSize: e.shard_size, dtype: e.dtype };
}

/** Options for eval/retrieve.ts: queries are embedded by `model` (the index's) in batches of `eval.encode.batch_size`. */
export function retrieveOptions(c: EvalSettings, model: ModelIdentity): RetrieveOptions {
  const r = c.eval.retrieve;
  return { model, k: r.k, queryChunk: r.query_chunk, docChunk: r.doc_chunk, queryMaxLength: c.data.query_max_length, batchSize: c.eval.encode.batch_size };
}
