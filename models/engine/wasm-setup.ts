import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ROOT } from '../../common/paths.js';
import { processThreads } from './threads.js';

/** The threaded build pre-creates 8 pthread workers: XNNPACK's pool cannot use more. */
export const WASM_MAX_THREADS = 8;

// From the project root: the compiled module in dist/ has no copy of this plain JavaScript file.
const WORKER = path.join(ROOT, 'models', 'engine', 'wasm-pthread-worker.cjs');

/** The thread count asked for: the process's cores (MARGIN_MSE_THREADS, else every core), at most 8. */
export function wasmThreadsWanted(env: NodeJS.ProcessEnv = process.env): number {
  return Math.min(processThreads(env), WASM_MAX_THREADS);
}

/**
 * Starts the wasm backend with `threads` XNNPACK threads (1: the single-threaded SIMD build) and returns the
 * thread count it got, or null when it failed to initialize.
 *
 * Why the detours: tfjs-backend-wasm turns threads off in Node (tfjs issue #3830), yet its threaded build runs
 * under worker_threads once three things are fixed, and matrix products, most of a step, then scale with cores
 * (figures: docs/engine.md). All three stay inside this call:
 * - the worker script is a blob: URL Node cannot start, so URL.createObjectURL answers with our worker file
 *   (wasm-pthread-worker.cjs) while the backend initializes;
 * - the backend caps its pool at half the logical cores (it assumes two hyperthreads per core), so on a 2-core
 *   machine it would keep 1 thread: os.cpus() reports each core twice while the module starts;
 * - the pool's workers would keep the process alive forever: they are unref'd once it has started.
 * The binaries are located inside node_modules (under tsx the package's own guess of its folder can be wrong).
 */
export async function startWasm(threads: number, setBackend: (name: string) => Promise<boolean>): Promise<number | null> {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
  setWasmPaths(`${dir}${path.sep}`);
  const threaded = threads > 1;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threaded);
  setThreadsCount(threads);
  if (!threaded) return (await setBackend('wasm')) ? 1 : null;

  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  URL.createObjectURL = (blob: Blob) => (blob.type === 'application/javascript' ? WORKER : createObjectURL(blob));
  os.cpus = () => [...cpus(), ...cpus()];
  try {
    if (!(await setBackend('wasm'))) return null;
  } finally {
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
  }
  const pthreads = (tf.backend() as BackendWasm).wasm as unknown as { PThread?: { runningWorkers: PthreadWorker[]; unusedWorkers: PthreadWorker[] } };
  for (const worker of [...(pthreads.PThread?.runningWorkers ?? []), ...(pthreads.PThread?.unusedWorkers ?? [])]) worker.unref();
  return getThreadsCount();
}

/** Emscripten's pthread workers are Node worker_threads Workers; only unref() is used here. */
interface PthreadWorker {
  unref(): void;
}
