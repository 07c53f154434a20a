import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collateGroups, padRows } from '../data/collate.js';
import { dotScores, encodeGroups } from './bert-dot.js';
import { DistilBert } from './distilbert.js';
import { testBackend } from './engine/testing.js';

let model: DistilBert;
testBackend();
beforeAll(() => {
  model = DistilBert.random({ vocab_size: 40, max_position_embeddings: 16, dim: 8, n_layers: 2, n_heads: 2, hidden_dim: 16 }, 3);
});
afterAll(() => model.dispose());

// 2 queries with groups of 3: positives of length 5 and 3, negatives of length 4 and 2 (padded together).
const queries = [[1, 5, 6], [1, 7]];
const columns = [
  [[1, 8, 9, 10, 2], [1, 11, 2]],
  [[1, 12, 13, 2], [1, 14]],
  [[1, 15, 2], [1, 16, 17, 18, 2]],
];
const batch = collateGroups(padRows(queries), columns.map((c) => padRows(c)), null);
const alone = (row: number[]) => model.encode(tf.tensor2d([row], [1, row.length], 'int32'), tf.ones([1, row.length], 'int32')); // [1, dim]

describe('BERT_Dot over a group batch', () => {
  it('S is each query against its own group, M against every passage of the batch (group-major columns)', () => {
    // A bag-of-tokens encoder: a row's token counts, so a score is the number of shared tokens (exact integers).
    const bag = { encode: (ids: tf.Tensor2D, mask: tf.Tensor2D) => tf.sum(tf.mul(tf.oneHot(ids, 40), tf.expandDims(mask, 2)), 1) as tf.Tensor2D };
    const shared = (a: number[], b: number[]) => a.reduce((n, t) => n + b.filter((u) => u === t).length, 0);
    const [S, M] = tf.tidy(() => {
      const { q, p } = encodeGroups(bag, batch);
      const { S, M } = dotScores(q, p, 3, true);
      return [S.arraySync(), M!.arraySync()];
    });
    const passages = [0, 1].flatMap((b) => columns.map((c) => c[b])); // group-major
    expect(M).toEqual(queries.map((qr) => passages.map((pr) => shared(qr, pr))));
    expect(S).toEqual(queries.map((qr, b) => columns.map((c) => shared(qr, c[b]))));
    expect(tf.tidy(() => Object.keys(dotScores(tf.ones([2, 8]), tf.ones([6, 8]), 3, false)))).toEqual(['S']);
  });

  it('encodes each query and passage as it would alone: padding to the batch\'s longest row changes nothing', () => {
    const before = tf.memory().numTensors;
    const [got, want] = tf.tidy(() => {
      const { q, p } = encodeGroups(model, batch);
      const rows = [...queries, ...[0, 1].flatMap((b) => columns.map((c) => c[b]))];
      return [tf.concat([q, p]).arraySync(), tf.concat(rows.map(alone)).arraySync()];
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(Math.max(...got.flatMap((r, i) => r.map((x, k) => Math.abs(x - want[i][k]))))).toBeLessThan(1e-5);
  });

  it('sends gradients to exactly the word embedding rows that were used', () => {
    const word = model.weights.get('embeddings.word_embeddings.weight')!;
    const g = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const { q, p } = encodeGroups(model, batch);
        return tf.sum(dotScores(q, p, 3, false).S) as tf.Scalar;
      }, [word]);
      return tf.sum(tf.abs(grads[word.name]), 1).dataSync(); // [vocab]
    });
    const used = new Set([...queries.flat(), ...columns.flat(2)]);
    for (let id = 0; id < 40; id++) expect(g[id] > 0, `row ${id}`).toBe(used.has(id));
  });
});
