import { describe, expect, it } from 'vitest';
import { EvalConfig, encodeOptions, rerankOptions, retrieveOptions } from './config.js';
import { DEFAULT_MEASURES } from './measures.js';

const settings = {
  eval: EvalConfig.parse({ rerank: { batch_size: 8, depth: 50 }, encode: { batch_size: 16, shard_size: 100, dtype: 'float16' }, retrieve: { k: 10 } }),
  data: { query_max_length: 12, passage_max_length: 36 },
};

describe('eval config → options', () => {
  it('re-ranking, encoding and retrieval tokenize to the data section lengths', () => {
    expect(rerankOptions(settings)).toEqual({ queryMaxLength: 12, passageMaxLength: 36, batchSize: 8, depth: 50 });
    const id = { model: 'm', weights: 'sha256:0' };
    expect(encodeOptions(settings, id)).toEqual({ model: 'm', weights: 'sha256:0', maxLength: 36, batchSize: 16, shardSize: 100, dtype: 'float16' });
    expect(retrieveOptions(settings, id)).toEqual({ model: id, k: 10, queryChunk: 256, docChunk: 65_536, queryMaxLength: 12, batchSize: 16 });
  });

  it('has one default measure list and no lengths of its own', () => {
    expect(EvalConfig.parse({}).measures).toEqual(DEFAULT_MEASURES);
    expect(EvalConfig.safeParse({ rerank: { passage_max_length: 200 } }).success).toBe(false);
  });
});
