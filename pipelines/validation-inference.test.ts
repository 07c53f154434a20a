import { beforeAll, describe, expect, it } from 'vitest';
import type { Qrels } from '../data/qrels.js';
import type { Run } from '../data/runs.js';
import { loadTokenizer, type Tokenizer } from '../data/tokenizer.js';
import { testBackend } from '../models/engine/testing.js';
import { TEST_VOCAB, tinyStudent } from '../models/onnx/testing.js';
import { ValidationConfig } from '../train/config.js';
import { generatedCollection } from '../eval/testing.js';
import { rerankValidator } from './train.js';

/**
 * The trainer's validate hook on ONNX Runtime against tfjs: the same measure (1e-4), from the weights the
 * student has at each validation (the ONNX graph is rebuilt from them), and one line naming the engine.
 */
const passages = generatedCollection(30);
const queries = new Map([['q1', 'apple river'], ['q2', 'winter ocean coffee'], ['q3', 'doctor garden'], ['q4', 'silver bridge']]);
// Graded judgments on several candidates per query, so nDCG@10 moves with any change of the ranking.
const qrels: Qrels = new Map([...queries.keys()].map((q, k) => [q, new Map(passages.filter((_, i) => (i + k) % 4 === 0).map((p, i) => [p.id, 1 + (i % 3)]))]));
const run: Run = new Map([...queries.keys()].map((q) => [q, passages.map((p, i) => ({ docno: p.id, score: -i }))]));
const data = { queries, passages: new Map(passages.map((p) => [p.id, p.text])), run, qrels };
const v = ValidationConfig.parse({ measure: 'ndcg@10', batch_size: 8 });
const lengths = { queryMaxLength: 16, passageMaxLength: 32 };

let tokenizer: Tokenizer;
testBackend();
beforeAll(async () => {
  tokenizer = await loadTokenizer(TEST_VOCAB);
});

describe('validation on ONNX Runtime', () => {
  it('gives the tfjs measure for the current weights, and logs the engine once', async () => {
    const model = tinyStudent(5);
    const other = tinyStudent(6);
    try {
      const logs: string[] = [];
      const onnx = rerankValidator(model, tokenizer, data, v, lengths, 'onnx', (m) => logs.push(m));
      const tfjs = rerankValidator(model, tokenizer, data, v, lengths, 'tfjs', () => {});
      const before = { onnx: await onnx(), tfjs: await tfjs() };
      // A training step changes the variables in place: here all of them, to another seed's values.
      for (const [name, w] of model.weights) w.assign(other.weights.get(name)!);
      const after = { onnx: await onnx(), tfjs: await tfjs() };

      expect(Math.abs(before.onnx - before.tfjs)).toBeLessThan(1e-4 * before.tfjs);
      expect(Math.abs(after.onnx - after.tfjs)).toBeLessThan(1e-4 * after.tfjs);
      expect(Math.abs(after.tfjs - before.tfjs)).toBeGreaterThan(1e-3); // the weights did change the measure
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(/^validation inference: ONNX Runtime [\d.]+, cpu provider, 1 thread \(inference onnx\)$/);
    } finally {
      model.dispose();
      other.dispose();
    }
  });
});
