import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';
import { loadTokenizer, type Tokenizer } from '../data/tokenizer.js';
import { loadBertCat, type BertCat } from '../models/bert-cat.js';
import { testBackend } from '../models/engine/testing.js';
import { compare } from '../parity/reference.js';
import { scorePairs, teacherScorer } from './pair-scorer.js';

/**
 * The tiny golden BERT_Cat on ONNX Runtime against tfjs (cpu backend) over the MS MARCO sample's pairs, in
 * length-sorted chunks: scores and each triple's margin agree within 1e-4 relative.
 */
const TOL = 1e-4;
let tok: Tokenizer;
let model: BertCat;
let pairs: [string, string][];

testBackend();
beforeAll(async () => {
  tok = await loadTokenizer(sharedPath('data', 'vocab', 'bert-base-uncased-vocab.txt'));
  model = await loadBertCat(sharedPath('goldens', 'bert-cat-tiny'));
  const triples = (await fsp.readFile(sharedPath('data', 'msmarco-sample', 'triples.train.sample.tsv'), 'utf8')).trim().split('\n').slice(0, 40).map((l) => l.split('\t'));
  pairs = [...triples.map(([q, p]): [string, string] => [q, p]), ...triples.map(([q, , n]): [string, string] => [q, n])];
});
afterAll(() => model?.dispose());

describe('BERT_Cat pair scoring on ONNX Runtime and on tfjs', () => {
  it('gives the same scores and margins, and says which engine runs', async () => {
    const tfjs = await teacherScorer(model, 'tfjs');
    const onnx = await teacherScorer(model, 'onnx');
    try {
      expect(tfjs.engine).toBe('tfjs, cpu backend (inference tfjs)');
      expect(onnx.engine).toMatch(/^ONNX Runtime [\d.]+, cpu provider, 1 thread \(inference onnx\)$/);
      const opts = { maxLength: 64, chunk: 16 };
      const a = await scorePairs(tfjs.score, tok, pairs, opts);
      const b = await scorePairs(onnx.score, tok, pairs, opts);
      expect(compare('scores', b, a, TOL).maxRel).toBeLessThan(TOL);
      const n = pairs.length / 2;
      const margins = (s: Float32Array) => Array.from({ length: n }, (_, i) => s[i] - s[n + i]);
      expect(compare('margins', margins(b), margins(a), TOL).maxRel).toBeLessThan(TOL);
      expect(new Set(a).size).toBeGreaterThan(n); // the pairs really score differently
    } finally {
      await onnx.dispose();
    }
  });

  it('scores alike with a DistilBERT encoder (matchmaker form)', async () => {
    const cat = await loadBertCat(path.join(ROOT, 'parity', 'goldens', 'bert-cat-distilbert-tiny'));
    const onnx = await teacherScorer(cat, 'onnx');
    try {
      const opts = { maxLength: 64, chunk: 16 };
      const a = await scorePairs(cat, tok, pairs, opts); // a BertCat runs on tfjs
      const b = await scorePairs(onnx.score, tok, pairs, opts);
      expect(compare('scores', b, a, TOL).maxRel).toBeLessThan(TOL);
    } finally {
      await onnx.dispose();
      cat.dispose();
    }
  });
});
