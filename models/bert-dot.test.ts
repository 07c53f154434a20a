import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TripleBatch } from '../data/batch.js';
import { bertDotScores } from './bert-dot.js';
import { DistilBert } from './distilbert.js';
import { testBackend } from './engine/testing.js';

let model: DistilBert;
testBackend();
beforeAll(() => {
  model = DistilBert.random({ vocab_size: 40, max_position_embeddings: 16, dim: 8, n_layers: 2, n_heads: 2, hidden_dim: 16 }, 3);
});
afterAll(() => model.dispose());

// 2 triples: query length 3, positives length 5, negatives length 4 (different widths are stacked).
const batch: TripleBatch = {
  size: 2,
  qLen: 3,
  qIds: Int32Array.from([1, 5, 6, 1, 7, 0]),
  qMask: Int32Array.from([1, 1, 1, 1, 1, 0]),
  pLen: 5,
  posIds: Int32Array.from([1, 8, 9, 10, 2, 1, 11, 2, 0, 0]),
  posMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
  nLen: 4,
  negIds: Int32Array.from([1, 12, 13, 2, 1, 14, 0, 0]),
  negMask: Int32Array.from([1, 1, 1, 1, 1, 1, 0, 0]),
  teacherPos: Float32Array.from([3, 1]),
  teacherNeg: Float32Array.from([1, 2]),
  hasTeacher: true,
};

const encode = (ids: Int32Array, mask: Int32Array, L: number) =>
  model.encode(tf.tensor2d(ids, [ids.length / L, L], 'int32'), tf.tensor2d(mask, [ids.length / L, L], 'int32'));

describe('bertDotScores', () => {
  it('is the dot product of separately encoded CLS vectors (stacking and padding change nothing)', () => {
    const before = tf.memory().numTensors;
    const [got, want] = tf.tidy(() => {
      const { sPos, sNeg } = bertDotScores(model, batch);
      const q = encode(batch.qIds, batch.qMask, 3);
      const dot = (p: tf.Tensor) => tf.sum(tf.mul(q, p), 1);
      return [tf.concat([sPos, sNeg]).dataSync(), tf.concat([dot(encode(batch.posIds, batch.posMask, 5)), dot(encode(batch.negIds, batch.negMask, 4))]).dataSync()];
    });
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < 4; i++) expect(got[i]).toBeCloseTo(want[i], 6);
    expect(new Set(got).size).toBe(4); // distinct scores: the rows were not mixed up
  });

  it('sends gradients to exactly the word embedding rows that were used', () => {
    const word = model.weights.get('embeddings.word_embeddings.weight')!;
    const g = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.sub(bertDotScores(model, batch).sPos, bertDotScores(model, batch).sNeg)) as tf.Scalar, [word]);
      return tf.sum(tf.abs(grads[word.name]), 1).dataSync(); // [vocab]
    });
    const used = new Set([...batch.qIds, ...batch.posIds, ...batch.negIds]);
    used.delete(0); // [PAD] appears only at masked positions: zero weight, zero gradient
    for (let id = 0; id < 40; id++) expect(g[id] > 0, `row ${id}`).toBe(used.has(id));
  });
});
