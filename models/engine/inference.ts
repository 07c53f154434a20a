import * as tf from '@tensorflow/tfjs-core';
import type { InferenceChoice } from './choices.js';
import { loadOrt } from './onnx-runtime.js';

/**
 * Which engine runs the forward-only work (encoding, re-ranking, query encoding for retrieval, teacher
 * scoring, validation): tfjs on its backend, or ONNX Runtime on a graph built from the same weights in
 * memory (models/onnx). Training itself always runs on tfjs.
 *
 * `auto` takes ONNX Runtime where tfjs runs on the CPU (wasm, cpu: ONNX Runtime's native kernels are several
 * times faster there; figures in docs/engine.md) and the tfjs backend where it has a GPU or libtensorflow
 * (tensorflow, webgpu), whose weights then stay where they are.
 */
export { INFERENCE_CHOICES, type InferenceChoice } from './choices.js';
export type InferenceEngine = 'tfjs' | 'onnx';

export interface InferencePlan {
  engine: InferenceEngine;
  /** Why, for the line a run prints (e.g. "auto: tfjs runs on wasm"). */
  why: string;
}

/** The engine for `choice` given the active tfjs backend (default tf.getBackend(); initBackend first). */
export async function chooseInference(choice: InferenceChoice, backend: string = tf.getBackend()): Promise<InferencePlan> {
  if (choice !== 'auto') return { engine: choice, why: `inference ${choice}` };
  if (backend !== 'wasm' && backend !== 'cpu') return { engine: 'tfjs', why: `auto: tfjs runs on ${backend}` };
  try {
    await loadOrt();
    return { engine: 'onnx', why: `auto: tfjs runs on ${backend}` };
  } catch (e) {
    // auto does what runs here: a machine whose ONNX Runtime library cannot load still has tfjs.
    return { engine: 'tfjs', why: `auto: ${(e as Error).message}` };
  }
}
