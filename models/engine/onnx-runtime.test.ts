import { promises as fsp } from 'node:fs';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../common/paths.js';
import { GraphBuilder } from '../onnx/graph.js';
import { createOnnxSession, cudaInstalled, onnxRuntimeInfo } from './onnx-runtime.js';
import { processThreads, THREADS_ENV } from './threads.js';

/** y = x + 1 over a dynamic vector. */
function plusOne(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['n']);
  g.node('Add', [x, g.scalar('one', 1)], {}, 'y');
  g.output('y', 'float32', ['n']);
  return g.toBytes({ graphName: 'plus_one' });
}

describe('processThreads', () => {
  it('takes MARGIN_MSE_THREADS when set, else every core', () => {
    expect(processThreads({})).toBe(os.availableParallelism());
    expect(processThreads({ [THREADS_ENV]: '' })).toBe(os.availableParallelism());
    expect(processThreads({ [THREADS_ENV]: '3' })).toBe(3);
  });

  it('refuses anything but a whole number >= 1, in one line naming the variable', () => {
    for (const bad of ['0', '-2', '1.5', 'two', '2x']) {
      expect(() => processThreads({ [THREADS_ENV]: bad })).toThrow(`MARGIN_MSE_THREADS=${bad}: expected a whole number of threads >= 1`);
    }
  });
});

describe('ONNX Runtime sessions', () => {
  const saved = process.env[THREADS_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[THREADS_ENV];
    else process.env[THREADS_ENV] = saved;
  });

  it('reports the pinned version and the CPU provider', async () => {
    const pinned = JSON.parse(await fsp.readFile(`${ROOT}/package.json`, 'utf8')).dependencies['onnxruntime-node'];
    const info = await onnxRuntimeInfo();
    expect(info.version).toBe(pinned);
    expect(info.providers).toContainEqual({ name: 'cpu', usable: true });
    const cuda = info.providers.find((p) => p.name === 'cuda');
    expect(cuda?.usable).toBe(cudaInstalled());
    if (!cuda?.usable) expect(cuda?.note).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
  });

  it('runs a model from bytes in memory on the threads asked for, and says how', async () => {
    const onnx = await createOnnxSession(plusOne(), { threads: 2, provider: 'cpu' });
    try {
      const out = await onnx.session.run({ x: new onnx.ort.Tensor('float32', Float32Array.of(1, -2, 0.5), [3]) });
      expect(Array.from(out.y.data as Float32Array)).toEqual([2, -1, 1.5]);
      expect(onnx.provider).toBe('cpu');
      expect(onnx.describe()).toMatch(/^ONNX Runtime \d+\.\d+\.\d+, cpu provider, 2 threads$/);
    } finally {
      await onnx.release();
    }
    const quiet = await createOnnxSession(plusOne(), { threads: 2, provider: 'cpu', spinning: false });
    const out = await quiet.session.run({ x: new quiet.ort.Tensor('float32', Float32Array.of(3), [1]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([4]);
    expect(quiet.describe()).toMatch(/, 2 threads \(no spinning\)$/);
    await quiet.release();
  });

  it('takes its threads from MARGIN_MSE_THREADS, and refuses a bad value', async () => {
    process.env[THREADS_ENV] = '1';
    const onnx = await createOnnxSession(plusOne(), { provider: 'cpu' });
    expect(onnx.threads).toBe(1);
    expect(onnx.describe()).toContain('1 thread');
    await onnx.release();
    process.env[THREADS_ENV] = 'many';
    await expect(createOnnxSession(plusOne())).rejects.toThrow('MARGIN_MSE_THREADS=many: expected a whole number of threads >= 1');
    await expect(createOnnxSession(plusOne(), { threads: 0 })).rejects.toThrow('expected a whole number of threads >= 1, got 0');
  });

  it.skipIf(cudaInstalled())('uses the CPU on auto without the CUDA provider, and refuses a CUDA demand', async () => {
    const onnx = await createOnnxSession(plusOne(), { threads: 1 });
    expect(onnx.provider).toBe('cpu');
    expect(onnx.fallback).toBeUndefined();
    await onnx.release();
    await expect(createOnnxSession(plusOne(), { threads: 1, provider: 'cuda' })).rejects.toThrow('the CUDA provider is not installed');
  });
});
