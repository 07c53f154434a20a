import * as tf from '@tensorflow/tfjs-core';
import type { EmbeddingWeights } from '../transformer.js';
import { customOp } from './custom-op.js';
import { LAYER_NORM_EPS, layerNormBackward, layerNormForward } from './layer-norm.js';

/**
 * Embeddings as one op: word[ids] + position[0..L) (+ tokenType[typeIds]), then LayerNorm.
 * Keeps only the ids and LayerNorm's xhat and 1/std for the backward; the tables are read, never copied.
 * The word (and token-type) gradient is one scatter-add of the rows' gradients into a dense table
 * (UnsortedSegmentSum: ENGINE's kernel on wasm and cpu), with no transpose; the position gradient is the
 * rows' gradient summed over the batch, padded to the table.
 * ids, typeIds: int32 [b, L] → [b, L, dim].
 */
export function embedding(ids: tf.Tensor, w: EmbeddingWeights, typeIds?: tf.Tensor): tf.Tensor {
  const [b, L] = ids.shape;
  const [vocab, dim] = w.word.shape;
  const maxPositions = w.position.shape[0];
  if (L > maxPositions) throw new Error(`sequence length ${L} exceeds max_position_embeddings ${maxPositions}`);
  const { tokenType } = w;
  const inputs = [w.word, w.position, w.norm.weight, w.norm.bias, ...(tokenType ? [tokenType] : [])];
  return customOp('Embedding', inputs, (save) => {
    const flatIds = tf.reshape(ids, [-1]); // [b L]
    const flatTypes = tokenType ? tf.reshape(typeIds ?? tf.zerosLike(ids), [-1]) : undefined; // [b L]
    const x = tf.tidy(() => {
      const words = tf.add(tf.reshape(tf.gather(w.word, flatIds), [b, L, dim]), tf.slice(w.position, [0, 0], [L, dim])); // + [L, dim] over b
      return tokenType && flatTypes ? tf.add(words, tf.reshape(tf.gather(tokenType, flatTypes), [b, L, dim])) : words;
    });
    const { y, xhat, rstd } = layerNormForward(x, w.norm.weight, w.norm.bias, LAYER_NORM_EPS);
    x.dispose();
    save([flatIds, xhat, rstd, w.norm.weight, ...(flatTypes ? [flatTypes] : [])]);
    return {
      value: y,
      backward: (dy, [savedIds, sXhat, sRstd, gamma, savedTypes]) => {
        const ln = layerNormBackward(dy, { xhat: sXhat, rstd: sRstd }, gamma);
        const rows = tf.reshape(ln.dx, [-1, dim]); // [b L, dim]
        const grads = [
          tf.unsortedSegmentSum(rows, savedIds as tf.Tensor1D, vocab), // [vocab, dim]
          tf.pad(tf.sum(ln.dx, 0), [[0, maxPositions - L], [0, 0]]), // [maxPositions, dim]
          ln.dGamma,
          ln.dBeta,
        ];
        if (tokenType && savedTypes) grads.push(tf.unsortedSegmentSum(rows, savedTypes as tf.Tensor1D, tokenType.shape[0]));
        return grads;
      },
    };
  });
}

/** The [CLS] (first position) vectors, as an op that saves nothing (its backward only pads). h: [b, L, dim] → [b, dim]. */
export function clsVectors(h: tf.Tensor): tf.Tensor2D {
  const [b, L, dim] = h.shape;
  return customOp('Cls', [h], () => ({
    value: tf.reshape(tf.slice(h, [0, 0, 0], [b, 1, dim]), [b, dim]) as tf.Tensor2D,
    backward: (dy) => [tf.pad(tf.reshape(dy, [b, 1, dim]), [[0, 0], [0, L - 1], [0, 0]])],
  }));
}
