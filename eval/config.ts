import { z } from 'zod';

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

const Rerank = z.strictObject({
  query_max_length: z.number().int().positive().default(30),
  passage_max_length: z.number().int().positive().default(200),
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
  measures: z.array(z.string()).default(['mrr@10', 'ndcg@10', 'recall@1000']),
  /** Significance level for the report's marks against BM25 (paired t-test). */
  alpha: z.number().gt(0).lt(1).default(0.05),
  query_sets: z.array(QuerySet).default([]),
  bm25: Bm25.default(Bm25.parse({})),
  rerank: Rerank.default(Rerank.parse({})),
  encode: Encode.default(Encode.parse({})),
  retrieve: Retrieve.default(Retrieve.parse({})),
});
export type EvalConfig = z.output<typeof EvalConfig>;
