import { z } from 'zod';
import { TRIPLE_FORMATS } from './triples.js';

/** How groups are sampled from a query's scored candidates, for either group source. */
const sampling = {
  /** K: negatives per group (a query with fewer candidates is a bad line). */
  negatives: z.number().int().positive(),
  /** Groups per query: each takes the next judged positive (round robin) and K negatives drawn without replacement. */
  per_query: z.number().int().positive().default(1),
  /** The draws are seeded by this and the qid, so a query's groups do not depend on the other lines. */
  seed: z.number().int().default(0),
};

/**
 * Training groups (a query, its positive and K negatives, each with a teacher score) instead of triples:
 * - `teacher-run`: a TREC run whose scores are a cross-encoder's (`qid Q0 pid rank score tag`, each query's lines
 *   together) and the qrels of the training queries; positives are the judged passages (grade >= 1) found in
 *   the run, negatives the run's other passages;
 * - `jsonl`: one query per line, `{"qid": ..., "pos": [[pid, score], ...], "neg": [[pid, score], ...]}`.
 * Both join on ids with `collection` and `queries`.
 */
export const GroupsConfig = z.discriminatedUnion(
  'source',
  [
    z.strictObject({ source: z.literal('teacher-run'), run: z.string(), qrels: z.string(), ...sampling }),
    z.strictObject({ source: z.literal('jsonl'), file: z.string(), ...sampling }),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? "'teacher-run' (with run and qrels) or 'jsonl' (with file)" : undefined) },
);
export type GroupsConfig = z.output<typeof GroupsConfig>;

/**
 * The `data` section of the config tree (see pipelines/config.ts). Every field has a default, so
 * `DataConfig.parse({})` works; paths are relative to the working directory.
 */
export const DataConfig = z.strictObject({
  /** Passages, `pid<TAB>text` (MS MARCO collection.tsv). Unused for the text triple forms. */
  collection: z.string().default('data/msmarco/collection.tsv'),
  /** Queries, `qid<TAB>text` (MS MARCO queries.train.tsv). Unused for the text triple forms. */
  queries: z.string().default('data/msmarco/queries.train.tsv'),
  /** Training triples; the published BERT_Cat ensemble scores by default. */
  triples: z.string().default('data/msmarco/bert_cat_ensemble_msmarcopassage_train_scores_ids.tsv'),
  triples_format: z.enum(TRIPLE_FORMATS).default('ids-scores'),
  /** Groups of 1 + K passages per query (see GroupsConfig); null: the triples above (K = 1). */
  groups: GroupsConfig.nullable().default(null),
  /** WordPiece vocab file, or a bundled vocab's name (`bert-base-uncased`, in data/vocab/). */
  vocab: z.string().default('bert-base-uncased'),
  /** Where `data prepare` writes the tokenized Arrow shards and manifest.json. */
  cache_dir: z.string().default('cache/data'),
  /** Maximum length including [CLS] and [SEP] (the paper: 30 for queries, 200 for passages). */
  query_max_length: z.number().int().min(2).default(30),
  passage_max_length: z.number().int().min(2).default(200),
  /** Bad input lines: stop with an error naming file and line, or skip, count and list them in the manifest. */
  on_bad_line: z.enum(['error', 'skip']).default('error'),
  /** Repair MS MARCO's mojibake (UTF-8 read as Latin-1); off: keep the text the published models saw. */
  repair_mojibake: z.boolean().default(false),
  /** Use only the first N training examples (valid triples, or groups); null: all. */
  max_triples: z.number().int().positive().nullable().default(null),
  /** Rows per Arrow shard. */
  shard_rows: z.number().int().positive().default(100_000),
  /** Training examples (triples or groups) held by the batcher's shuffle buffer (1: file order). */
  shuffle_buffer: z.number().int().positive().default(10_000),
  /** Batches the batcher prepares ahead of the trainer. */
  prefetch: z.number().int().positive().default(4),
});
export type DataConfig = z.output<typeof DataConfig>;

export { resolveVocab } from './vocab-name.js';
