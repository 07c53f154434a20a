import { BatchMatMul, getKernel, Identity, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { cpuSegmentSumConfig, wasmSegmentSumConfig } from './segment-sum.js';
import { wasmBatchMatMulConfig } from './wasm-matmul.js';
import { wasmIdentityConfig } from './wasm-identity.js';
import { guardWasmKernels } from '../wasm-heap.js';

/**
 * Installs our kernels through tfjs's public kernel registry. Must run before the backend initializes
 * (`tf.setBackend`): the engine calls each kernel's setupFunc once, at initialization. Idempotent.
 */
export function registerCpuKernels(): void {
  replace(cpuSegmentSumConfig);
}

let wasmDone = false;
export function registerWasmKernels(): void {
  if (wasmDone) return;
  replace(wasmBatchMatMulConfig(stockWasm(BatchMatMul)));
  replace(wasmIdentityConfig(stockWasm(Identity)));
  replace(wasmSegmentSumConfig);
  guardWasmKernels();
  wasmDone = true;
}

function stockWasm(name: string): KernelConfig {
  const stock = getKernel(name, 'wasm');
  if (stock == null) throw new Error(`the wasm ${name} kernel is not registered: @tensorflow/tfjs-backend-wasm failed to load`);
  return stock;
}

function replace(config: KernelConfig): void {
  if (getKernel(config.kernelName, config.backendName) === config) return;
  if (getKernel(config.kernelName, config.backendName) != null) unregisterKernel(config.kernelName, config.backendName);
  registerKernel(config);
}
