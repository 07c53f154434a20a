import {
  getKernelsForBackend,
  registerKernel,
  unregisterKernel,
  util,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The wasm backend's heap is capped at 4 GB, and tfjs keeps every intermediate of a step until its gradients
 * are done. When the heap runs out, emscripten does not say "out of memory": the crash reads "memory access
 * out of bounds" or "Aborted()", or malloc quietly returns address 0 and the kernel writes over the module's
 * own memory. This turns such errors into one that says what happened and what to do.
 */
export class WasmHeapError extends Error {
  override name = 'WasmHeapError';
  constructor(readonly original: unknown) {
    super(
      `the wasm backend ran out of its 4 GB heap (${messageOf(original)}): tfjs keeps every intermediate of a ` +
        'training step until its gradients are done. Use a smaller batch or shorter sequences, or a backend without ' +
        'the cap (tensorflow, webgpu). The wasm module is unusable after this error: restart the process.',
    );
  }
}

const HEAP_CRASH = /memory access out of bounds|Aborted\(|Cannot enlarge memory|Out of memory|out of memory/i;

/** The error to show for `err`: a WasmHeapError when it is the wasm heap crash, else `err` itself. */
export function explainWasmError(err: unknown): unknown {
  if (err instanceof WasmHeapError) return err;
  const isRuntime = typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
  return isRuntime || HEAP_CRASH.test(messageOf(err)) ? new WasmHeapError(err) : err;
}

const wrapped = new WeakSet<KernelFunc>();

/**
 * Re-registers every wasm kernel with a wrapper that translates the heap crash (see WasmHeapError), so every
 * caller gets the clear message without its own try/catch. Idempotent; call after the wasm kernels (and our
 * replacements) are registered and before the backend initializes (setupFunc runs at initialization).
 */
export function guardWasmKernels(): void {
  for (const config of getKernelsForBackend('wasm')) {
    if (wrapped.has(config.kernelFunc)) continue;
    const inner = config.kernelFunc;
    const kernelFunc: KernelFunc = (args) => {
      let out: TensorInfo | TensorInfo[];
      try {
        out = inner(args);
      } catch (err) {
        throw explainWasmError(err);
      }
      for (const t of Array.isArray(out) ? out : [out]) {
        if (util.sizeFromShape(t.shape) > 0 && (args.backend as BackendWasm).dataIdMap.get(t.dataId)?.memoryOffset === 0) {
          throw new WasmHeapError(new Error(`malloc returned address 0 for the [${t.shape}] output of ${config.kernelName}`));
        }
      }
      return out;
    };
    wrapped.add(kernelFunc);
    unregisterKernel(config.kernelName, 'wasm');
    registerKernel({ ...config, kernelFunc });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
