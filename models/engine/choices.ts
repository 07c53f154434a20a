/**
 * The engine choices as plain constants: the CLI lists them in its flags without loading tfjs or ONNX Runtime
 * (models/engine/backend.ts and inference.ts re-export them).
 */
export type BackendChoice = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

export type InferenceChoice = 'auto' | 'tfjs' | 'onnx';
export const INFERENCE_CHOICES: readonly InferenceChoice[] = ['auto', 'tfjs', 'onnx'];
