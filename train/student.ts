import type * as tf from '@tensorflow/tfjs-core';
import type { TripleBatch } from '../data/batch.js';

/**
 * What the trainer needs of a model: its trainable parameters by (HuggingFace) name, the student scores of
 * a batch, and the config to store beside the weights. The trainer knows nothing else of the network, so
 * tests drive it with a tiny stand-in and `train()` with BERT_Dot over DistilBERT.
 */
export interface Student {
  params: Map<string, tf.Variable>;
  /** sPos, sNeg: [batch]; called inside tf.variableGrads, so it must not dispose its inputs' variables. */
  scores(batch: TripleBatch): { sPos: tf.Tensor1D; sNeg: tf.Tensor1D };
  /** The model config (HF config.json fields) written with every checkpoint. */
  config: Record<string, unknown>;
}
