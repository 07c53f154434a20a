import * as tf from '@tensorflow/tfjs-core';
import type { BatchCursor, BatchSource, GroupBatch } from '../data/batch.js';
import { collateGroups, padRows } from '../data/collate.js';
import type { Qrels } from '../data/qrels.js';
import type { Run } from '../data/runs.js';
import { rng } from '../common/rng.js';
import { meanPool } from '../models/testing.js';
import type { Student } from './student.js';

/**
 * Test helpers (no test runs here): a tiny bag-of-embeddings BERT_Dot stand-in and a seeded generator of
 * tokenized groups (a query, its positive and K negatives; K = 1: triples) with a resumable cursor, so the
 * trainer is tested without the DistilBERT or Arrow cache.
 *
 * The generated task: token ids 1..TOPICS are topics, TOPICS+t is a synonym of topic t, larger ids are
 * noise. A query holds its topic; the positive holds the topic's synonym, each negative another topic's
 * synonym; the teacher scores positives ≈ 6 and negatives ≈ 1.
 */
const TOPICS = 12;
export const VOCAB = 64;

const noise = (r: () => number) => 2 * TOPICS + 1 + Math.floor(r() * (VOCAB - 2 * TOPICS - 1));

/** Token rows for a query of topic t or a passage about topic t (synonym + noise), unpadded. */
function queryTokens(t: number, r: () => number): number[] {
  return [t, noise(r), noise(r)].slice(0, 2 + Math.floor(r() * 2));
}
function passageTokens(t: number, r: () => number): number[] {
  const n = 3 + Math.floor(r() * 4);
  const row = Array.from({ length: n }, () => noise(r));
  row[Math.floor(r() * n)] = TOPICS + t;
  return row;
}

/**
 * Batch number `index` of the stream seeded `seed`, `size` queries with `negatives` negatives each: a pure
 * function of all four, so a cursor is just the index.
 */
export function generatedBatch(seed: number, index: number, size: number, negatives = 1): GroupBatch {
  const r = rng(seed * 100_003 + index);
  const qs: number[][] = [];
  const cols: number[][][] = Array.from({ length: 1 + negatives }, () => []); // column j: passage j of every group
  const teacher = Array.from({ length: 1 + negatives }, () => new Float32Array(size));
  for (let i = 0; i < size; i++) {
    const t = 1 + Math.floor(r() * TOPICS);
    const others = Array.from({ length: negatives }, () => 1 + ((t + Math.floor(r() * (TOPICS - 1))) % TOPICS));
    qs.push(queryTokens(t, r));
    cols[0].push(passageTokens(t, r));
    others.forEach((u, k) => cols[1 + k].push(passageTokens(u, r)));
    teacher[0][i] = 6 + (r() - 0.5);
    for (let k = 1; k <= negatives; k++) teacher[k][i] = 1 + (r() - 0.5);
  }
  return collateGroups(padRows(qs), cols.map((c) => padRows(c)), teacher);
}

/** A BatchSource of `batches` generated batches; `poison` batch indices get an infinite teacher score. */
export function generatedSource(opts: { seed: number; size: number; batches: number; negatives?: number; poison?: Set<number> }, cursor?: BatchCursor): BatchSource {
  let index = typeof cursor?.index === 'number' ? cursor.index : 0;
  return {
    async next() {
      if (index >= opts.batches) return null;
      const b = generatedBatch(opts.seed, index, opts.size, opts.negatives);
      if (opts.poison?.has(index)) b.teacher[0] = Infinity;
      index++;
      return b;
    },
    cursor: () => ({ index }),
    async close() {},
  };
}

/**
 * A tiny BERT_Dot stand-in: masked mean of token embeddings, then a dense layer with tanh; score = dot
 * product of query and passage vectors. Same `encode` shape as DistilBert, so eval's rerank can run it.
 */
export class TinyStudent implements Student {
  readonly params: Map<string, tf.Variable>;
  readonly config = { model_type: 'tiny-bag', vocab_size: VOCAB, dim: 16 };

  constructor(seed: number, dim = 16) {
    this.params = new Map([
      ['emb.weight', tf.variable(tf.randomNormal([VOCAB, dim], 0, 0.3, 'float32', seed))],
      ['dense.weight', tf.variable(tf.randomNormal([dim, dim], 0, 0.3, 'float32', seed + 1))],
      ['dense.bias', tf.variable(tf.zeros([dim]))],
    ]);
  }

  encode(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const mean = meanPool(this.params.get('emb.weight') as tf.Tensor2D, ids, mask); // [b, dim]
      return tf.tanh(tf.add(tf.matMul(mean, this.params.get('dense.weight')!), this.params.get('dense.bias')!)) as tf.Tensor2D;
    });
  }

  dispose(): void {
    tf.dispose([...this.params.values()]);
  }
}

/**
 * A validation set for the generated task as eval consumes it: texts are space-separated token ids (the
 * `tokenizer` below reads them back), 10 candidates per query of which one (the same topic) is relevant.
 */
export function validationSet(seed: number, nQueries = 24): {
  queries: Map<string, string>; passages: Map<string, string>; run: Run; qrels: Qrels;
  tokenizer: { padId: number; encode(text: string, maxLength: number): Int32Array };
} {
  const r = rng(seed);
  const queries = new Map<string, string>();
  const passages = new Map<string, string>();
  const run: Run = new Map();
  const qrels: Qrels = new Map();
  for (let q = 0; q < nQueries; q++) {
    const t = 1 + (q % TOPICS);
    const qid = `q${q}`;
    queries.set(qid, queryTokens(t, r).join(' '));
    const cands = [];
    for (let c = 0; c < 10; c++) {
      const topic = c === 0 ? t : 1 + ((t + c) % TOPICS);
      const pid = `${qid}-p${c}`;
      passages.set(pid, passageTokens(topic, r).join(' '));
      cands.push({ docno: pid, score: 10 - ((c * 7) % 10) }); // the relevant one is not first
    }
    run.set(qid, cands);
    qrels.set(qid, new Map([[`${qid}-p0`, 1]]));
  }
  const tokenizer = { padId: 0, encode: (text: string) => Int32Array.from(text.split(' ').map(Number)) };
  return { queries, passages, run, qrels, tokenizer };
}
