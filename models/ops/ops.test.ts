import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Adam } from '../../train/adam.js';
import { collateGroups, padRows } from '../../data/collate.js';
import { lossTerms } from '../../train/loss-terms.js';
import { stepGradients } from '../../train/step.js';
import { bertDotStudent } from '../../train/bert-dot-student.js';
import { DistilBert } from '../distilbert.js';
import { initBackend } from '../engine/backend.js';
import { additiveMask, type EmbeddingWeights, type LayerWeights } from '../transformer.js';
import { clsVectors, embedding } from './embedding.js';
import { encoderBlock } from './encoder-layer.js';
import { gelu } from './gelu.js';
import { layerNorm } from './layer-norm.js';

/**
 * Each op against autodiff of the plain tfjs composite it replaced (written out below as the reference):
 * same outputs, same gradients for every input, on cpu and wasm; no tensor left behind.
 */

const EPS = 1e-12;
const refLayerNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), g), b);
};
const refGelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
const refLinear = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
  const y = tf.add(tf.matMul(tf.reshape(x, [-1, x.shape[x.shape.length - 1]]), w, false, true), b);
  return tf.reshape(y, [...x.shape.slice(0, -1), w.shape[0]]);
};
function refBlock(x: tf.Tensor, bias: tf.Tensor, w: LayerWeights, nHeads: number): tf.Tensor {
  const [b, L, dim] = x.shape;
  const dh = dim / nHeads;
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [b, L, nHeads, dh]), [0, 2, 1, 3]);
  const q = heads(tf.mul(refLinear(x, w.query.weight, w.query.bias), 1 / Math.sqrt(dh)));
  const k = heads(refLinear(x, w.key.weight, w.key.bias));
  const v = heads(refLinear(x, w.value.weight, w.value.bias));
  const probs = tf.softmax(tf.add(tf.matMul(q, k, false, true), bias));
  const merged = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [b, L, dim]);
  const h = refLayerNorm(tf.add(x, refLinear(merged, w.attnOut.weight, w.attnOut.bias)), w.attnNorm.weight, w.attnNorm.bias);
  const f = refLinear(refGelu(refLinear(h, w.ffnIn.weight, w.ffnIn.bias)), w.ffnOut.weight, w.ffnOut.bias);
  return refLayerNorm(tf.add(h, f), w.outNorm.weight, w.outNorm.bias);
}
function refEmbedding(ids: tf.Tensor, w: EmbeddingWeights, typeIds: tf.Tensor): tf.Tensor {
  const [b, L] = ids.shape;
  const dim = w.word.shape[1]!;
  let x = tf.add(tf.reshape(tf.gather(w.word, tf.reshape(ids, [-1])), [b, L, dim]), tf.slice(w.position, [0, 0], [L, dim]));
  x = tf.add(x, tf.reshape(tf.gather(w.tokenType!, tf.reshape(typeIds, [-1])), [b, L, dim]));
  return refLayerNorm(x, w.norm.weight, w.norm.bias);
}

const B = 2;
const L = 5;
const DIM = 8;
const HEADS = 2;
const HIDDEN = 16;
let seed = 1;
const rand = (shape: number[], scale = 0.5) => tf.randomNormal(shape, 0, scale, 'float32', seed++);

/** Weights for one block; LayerNorm gammas away from 1 so their gradients matter. */
function blockWeights(): LayerWeights {
  const lin = (o: number, i: number) => ({ weight: rand([o, i], 0.4), bias: rand([o], 0.1) });
  const norm = () => ({ weight: tf.add(1, rand([DIM], 0.2)), bias: rand([DIM], 0.1) });
  return {
    query: lin(DIM, DIM), key: lin(DIM, DIM), value: lin(DIM, DIM), attnOut: lin(DIM, DIM),
    attnNorm: norm(), ffnIn: lin(HIDDEN, DIM), ffnOut: lin(DIM, HIDDEN), outNorm: norm(),
  };
}
const flat = (w: LayerWeights) => Object.values(w).flatMap((p) => [p.weight, p.bias]);
function unflat(t: tf.Tensor[]): LayerWeights {
  const keys = ['query', 'key', 'value', 'attnOut', 'attnNorm', 'ffnIn', 'ffnOut', 'outNorm'];
  return Object.fromEntries(keys.map((k, i) => [k, { weight: t[2 * i], bias: t[2 * i + 1] }])) as unknown as LayerWeights;
}

/** Value and gradients of sum(f(...xs) * weights) (a fixed random cotangent), as plain arrays. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): Float32Array[] {
  return tf.tidy(() => {
    let cot: tf.Tensor | undefined;
    const { value, grads } = tf.valueAndGrads((...args: tf.Tensor[]) => {
      const y = f(...args);
      cot ??= tf.keep(tf.randomNormal(y.shape, 0, 1, 'float32', 999));
      return tf.sum(tf.mul(y, cot));
    })(xs);
    const out = [value, ...grads].map((t) => t.dataSync() as Float32Array);
    cot?.dispose();
    return out;
  });
}

/**
 * Each array within `rel` of its reference's largest magnitude, and at least `rel` of the largest magnitude of
 * all of them: some gradients are zero in exact arithmetic (the key bias: softmax ignores a constant added to
 * every score of a query) and hold only float noise.
 */
function expectClose(got: Float32Array[], want: Float32Array[], rel: number): void {
  expect(got.length).toBe(want.length);
  const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const floor = Math.max(...want.map(maxAbs));
  got.forEach((g, i) => {
    let worst = 0;
    for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - want[i][j]));
    expect(worst, `output ${i}`).toBeLessThanOrEqual(rel * Math.max(maxAbs(want[i]), floor));
  });
}

afterAll(async () => {
  await initBackend('cpu', { quiet: true });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`custom-gradient ops on ${backend}`, () => {
    it('LayerNorm and GELU match the composite, value and every gradient', async () => {
      await initBackend(backend, { quiet: true });
      const before = tf.memory().numTensors;
      const [x, g, b] = tf.tidy(() => [rand([B, L, DIM], 2), tf.add(1, rand([DIM], 0.3)), rand([DIM])]);
      expectClose(valueAndGrads((a, c, d) => layerNorm(a, c, d), [x, g, b]), valueAndGrads(refLayerNorm, [x, g, b]), 1e-5);
      expectClose(valueAndGrads(gelu, [x]), valueAndGrads(refGelu, [x]), 1e-5);
      tf.dispose([x, g, b]);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('an encoder block matches the composite with padding, with and without recompute', async () => {
      await initBackend(backend, { quiet: true });
      const before = tf.memory().numTensors;
      const w = unflat(tf.tidy(() => flat(blockWeights())));
      const x = rand([B, L, DIM], 1);
      const mask = tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], [B, L], 'int32');
      const bias = tf.tidy(() => additiveMask(mask));
      const inputs = [x, ...flat(w)];
      const want = valueAndGrads((a, ...p) => refBlock(a, bias, unflat(p), HEADS), inputs);
      const none = valueAndGrads((a, ...p) => encoderBlock(a, bias, unflat(p), HEADS, 'none'), inputs);
      const layers = valueAndGrads((a, ...p) => encoderBlock(a, bias, unflat(p), HEADS, 'layers'), inputs);
      expect(want).toHaveLength(1 + 1 + 16);
      expectClose(none, want, 1e-5);
      expect(none[0]).toEqual(want[0]); // same kernels in the same order: the forward is bit-identical
      expectClose(layers, none, 1e-6);
      tf.dispose([x, mask, bias, ...flat(w)]);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('the embedding (repeated ids, token types) and the [CLS] slice match the composite', async () => {
      await initBackend(backend, { quiet: true });
      const before = tf.memory().numTensors;
      const ids = tf.tensor2d([[3, 7, 3, 0, 0], [9, 3, 1, 2, 0]], [B, L], 'int32');
      const types = tf.tensor2d([[0, 0, 1, 1, 1], [0, 1, 1, 1, 1]], [B, L], 'int32');
      const tables = tf.tidy(() => [rand([10, DIM]), rand([7, DIM]), tf.add(1, rand([DIM], 0.2)), rand([DIM]), rand([2, DIM])]);
      const weights = ([word, position, g, b, tokenType]: tf.Tensor[]): EmbeddingWeights => ({ word, position, tokenType, norm: { weight: g, bias: b } });
      const got = valueAndGrads((...t) => clsVectors(embedding(ids, weights(t), types)), tables);
      const want = valueAndGrads((...t) => {
        const h = refEmbedding(ids, weights(t), types);
        return tf.reshape(tf.slice(h, [0, 0, 0], [B, 1, DIM]), [B, DIM]);
      }, tables);
      expectClose(got, want, 1e-5);
      // Without token types (DistilBERT): four inputs, the full hidden state.
      const noTypes = ([word, position, g, b]: tf.Tensor[]): EmbeddingWeights => ({ word, position, norm: { weight: g, bias: b } });
      const zeros = tf.zerosLike(types);
      expectClose(
        valueAndGrads((...t) => embedding(ids, noTypes(t)), tables.slice(0, 4)),
        valueAndGrads((...t) => refEmbedding(ids, { ...noTypes(t), tokenType: tf.zerosLike(t[0]) }, zeros), tables.slice(0, 4)),
        1e-5,
      );
      tf.dispose([ids, types, zeros, ...tables]);
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  describe(`activation checkpointing on ${backend}`, () => {
    it("recompute: 'layers' gives the loss and gradients of 'none' within 1e-6, and trains without leaks", async () => {
      await initBackend(backend, { quiet: true });
      const model = DistilBert.random({ vocab_size: 60, dim: 16, n_layers: 3, n_heads: 2, hidden_dim: 32 }, 4);
      const student = bertDotStudent(model);
      const batch = smallBatch();
      const run = async (recompute: 'none' | 'layers') => {
        model.recompute = recompute;
        const { loss, grads } = await stepGradients(student, lossTerms('margin-mse'), batch, 1);
        const values = new Map([...grads].map(([k, g]) => [k, g.dataSync() as Float32Array]));
        tf.dispose([...grads.values()]);
        return { loss, values };
      };
      const none = await run('none');
      const layers = await run('layers');
      expect(Math.abs(layers.loss - none.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(none.loss));
      expect([...layers.values.keys()]).toEqual([...none.values.keys()]);
      for (const [name, want] of none.values) expectClose([layers.values.get(name)!], [want], 1e-6);

      const adam = new Adam(model.weights);
      const step = async () => {
        const { loss, grads } = await stepGradients(student, lossTerms('margin-mse'), batch, 1);
        adam.apply(grads, 1e-2);
        tf.dispose([...grads.values()]);
        return loss;
      };
      const first = await step();
      const tensors = tf.memory().numTensors;
      let last = first;
      for (let i = 0; i < 5; i++) last = await step();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(last).toBeLessThan(first);
      adam.dispose();
      model.dispose();
    });
  });
}

/** Two triples over a 60-token vocabulary: queries of 4 tokens, passages of 7 with padding in the negatives. */
function smallBatch() {
  const rows = (n: number, len: number, s: number) => Array.from({ length: n }, (_, r) => Array.from({ length: len }, (_, i) => 1 + (((r * len + i) * 13 + s * 7) % 59)));
  // the second column's rows are 5 tokens of 7: padding inside the batch
  return collateGroups(padRows(rows(2, 4, 1)), [padRows(rows(2, 7, 2)), padRows(rows(2, 5, 3), 0, 7)], [Float32Array.from([2, 0.5]), Float32Array.from([-1, 1])]);
}
