import type * as tf from '@tensorflow/tfjs-core';

/**
 * What the trainer needs of a bi-encoder student: its trainable parameters by (HuggingFace) name, the one
 * encoder of queries and passages (BERT_Dot shares it; scores are dot products of its outputs,
 * models/bert-dot.ts), and the config to store beside the weights. The trainer knows nothing else of the
 * network, so tests drive it with a tiny stand-in and `train()` with BERT_Dot over DistilBERT.
 */
export interface Student {
  params: Map<string, tf.Variable>;
  /** ids, mask int32 [n, L] → representations [n, dim]. Pure tensor math over `params`: called inside gradient functions. */
  encode(ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D;
  /** The model config (HF config.json fields) written with every checkpoint. */
  config: Record<string, unknown>;
}
