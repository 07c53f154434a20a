import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config.js';
import { initBackend } from './backend.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { explainWasmError, guardWasmKernels, WasmHeapError } from './wasm-heap.js';

describe('initBackend', () => {
  it('auto passes over tensorflow (absent here) with its reason, and lands on wasm', async () => {
    const r = await initBackend('auto', { quiet: true });
    expect(r.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(r.reasons[0]).toMatch(/^using wasm: .*SIMD, \d thread\(s\)/);
    expect(r.reasons.find((l) => l.startsWith('not tensorflow:'))).toMatch(/@tensorflow\/tfjs-node-gpu is not installed; @tensorflow\/tfjs-node is not installed/);
    expect(r.reasons.some((l) => l.startsWith('not webgpu:'))).toBe(true);
  });

  it('an explicit choice gets exactly that backend', async () => {
    expect((await initBackend('cpu', { quiet: true })).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect((await initBackend('wasm', { quiet: true })).name).toBe('wasm');
  });

  it('an explicit choice that cannot start is a ConfigError saying why', async () => {
    const err = await initBackend('tensorflow', { quiet: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/run\.backend=tensorflow.*\n.*not tensorflow: @tensorflow\/tfjs-node-gpu is not installed/);
  });

  it('registers gradients (tfjs-core alone has none)', async () => {
    await initBackend('cpu', { quiet: true });
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2])).dataSync());
    expect(Array.from(g)).toEqual([2, 4]);
  });
});

describe('wasm heap crash', () => {
  it('is explained as the 4 GB heap running out; other errors pass through', () => {
    const crash = new WebAssembly.RuntimeError('memory access out of bounds');
    expect(explainWasmError(crash)).toBeInstanceOf(WasmHeapError);
    expect((explainWasmError(new Error('Aborted(). Build with -sASSERTIONS')) as Error).message).toMatch(/ran out of its 4 GB heap/);
    const other = new Error('shapes do not match');
    expect(explainWasmError(other)).toBe(other);
  });

  it('wasm kernels that crash, or get address 0 from malloc, throw the explained error', async () => {
    await initBackend('wasm', { quiet: true });
    // Two stand-in kernels, wrapped by the same guard as the real ones: one traps like the module does, one
    // returns an output at address 0 as a kernel does when the heap cannot grow (seen with 512 MB tf.fill
    // calls past 3.5 GB). A real 4 GB allocation is too heavy for a test.
    tf.registerKernel({ kernelName: 'TestTrap', backendName: 'wasm', kernelFunc: () => { throw new WebAssembly.RuntimeError('memory access out of bounds'); } });
    tf.registerKernel({
      kernelName: 'TestNullMalloc',
      backendName: 'wasm',
      kernelFunc: ({ backend }) => (backend as BackendWasm).makeOutput([4], 'float32', 0),
    });
    guardWasmKernels();
    expect(() => tf.engine().runKernel('TestTrap', {}, {})).toThrow(WasmHeapError);
    expect(() => tf.engine().runKernel('TestNullMalloc', {}, {})).toThrow(/4 GB heap \(malloc returned address 0 for the \[4\] output of TestNullMalloc/);
    tf.unregisterKernel('TestTrap', 'wasm');
    tf.unregisterKernel('TestNullMalloc', 'wasm');
  });
});
