import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempFiles } from '../common/testing.js';
import type { Run } from '../data/runs.js';
import { loadTokenizer, type Tokenizer } from '../data/tokenizer.js';
import type { DistilBert } from '../models/distilbert.js';
import { testBackend } from '../models/engine/testing.js';
import { compareRuns, TEST_VOCAB, tinyStudent } from '../models/onnx/testing.js';
import { compare } from '../parity/reference.js';
import { studentEncoder, type StudentEncoder } from './embed.js';
import { rerank } from './rerank.js';
import { retrieve } from './retrieve.js';
import { generatedCollection } from './testing.js';
import { encodeCollection, loadVectorShard, readIndexManifest } from './vector-index.js';

/**
 * The student on ONNX Runtime against the same student on tfjs (cpu backend): scores of re-ranking, the
 * encoded index, and dense retrieval agree within 1e-4 relative, and rankings are the same.
 */
const TOL = 1e-4;
const passages = generatedCollection(40);
const texts = new Map(passages.map((p) => [p.id, p.text]));
const queries = new Map([['q1', 'apple river'], ['q2', 'winter ocean coffee'], ['q3', 'doctor'], ['q4', 'silver bridge paper window']]);
const tmp = tempFiles('embed-engines-');

let tokenizer: Tokenizer;
let model: DistilBert;
let tfjs: StudentEncoder;
let onnx: StudentEncoder;

testBackend();
beforeAll(async () => {
  tokenizer = await loadTokenizer(TEST_VOCAB);
  model = tinyStudent();
  tfjs = await studentEncoder(model, 'tfjs');
  onnx = await studentEncoder(model, 'onnx');
});
afterAll(async () => {
  await onnx?.dispose();
  model?.dispose();
  await fsp.rm(tmp.dir, { recursive: true, force: true });
});

describe('the student on ONNX Runtime and on tfjs', () => {
  it('says which engine runs', () => {
    expect(tfjs.engine).toBe('tfjs, cpu backend (inference tfjs)');
    expect(onnx.engine).toMatch(/^ONNX Runtime \d+\.\d+\.\d+, cpu provider, 1 thread \(inference onnx\)$/); // vitest.config: MARGIN_MSE_THREADS=1
  });

  it('re-ranks alike', async () => {
    const candidates: Run = new Map([...queries.keys()].map((q) => [q, passages.map((p, i) => ({ docno: p.id, score: -i }))]));
    const opts = { queryMaxLength: 16, passageMaxLength: 32, batchSize: 16 };
    const a = await rerank(tfjs.encode, tokenizer, queries, texts, candidates, opts);
    const b = await rerank(onnx.encode, tokenizer, queries, texts, candidates, opts);
    expect(compareRuns(a, b)).toEqual({ sameDocs: true, maxRel: expect.any(Number), sameRanking: true });
    expect(compareRuns(a, b).maxRel).toBeLessThan(TOL);
  });

  it('encodes an index and retrieves alike', async () => {
    const dirs = { tfjs: path.join(tmp.dir, 'tfjs'), onnx: path.join(tmp.dir, 'onnx') };
    const opts = { model: 'tiny', weights: 'tiny', maxLength: 32, batchSize: 16, shardSize: 15, dtype: 'float32' as const };
    async function* source() {
      for (const p of passages) yield p;
    }
    await encodeCollection(tfjs.encode, tokenizer, source(), dirs.tfjs, opts);
    await encodeCollection(onnx.encode, tokenizer, source(), dirs.onnx, opts);
    const vectors = async (dir: string) => {
      const m = await readIndexManifest(dir);
      const shards = await Promise.all(m.shards.sort((x, y) => x.index - y.index).map((s) => loadVectorShard(dir, s)));
      return Float32Array.from(shards.flatMap((s) => Array.from(s.vectors)));
    };
    const [va, vb] = [await vectors(dirs.tfjs), await vectors(dirs.onnx)];
    expect(va.length).toBe(passages.length * 32);
    expect(compare('vectors', vb, va, TOL).maxRel).toBeLessThan(TOL);

    const ropts = { model: { model: 'tiny', weights: 'tiny' }, k: 10, queryChunk: 3, docChunk: 16, queryMaxLength: 16, batchSize: 8 };
    const a = await retrieve(tfjs.encode, tokenizer, queries, dirs.tfjs, ropts);
    const b = await retrieve(onnx.encode, tokenizer, queries, dirs.onnx, ropts);
    expect(compareRuns(a, b)).toEqual({ sameDocs: true, maxRel: expect.any(Number), sameRanking: true });
    expect(compareRuns(a, b).maxRel).toBeLessThan(TOL);
  });
});
