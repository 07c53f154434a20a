import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { ConfigError } from '../../common/errors.js';
import type { BackendChoice } from './choices.js';
import { registerGradients } from './gradients.js';
import { registerCpuKernels, registerWasmKernels } from './kernels/register.js';
import { processThreads, THREADS_ENV } from './threads.js';
import { startWasm, wasmThreadsWanted } from './wasm-setup.js';
import { initWebgpu } from './webgpu.js';

export { BACKEND_CHOICES, type BackendChoice } from './choices.js';

export interface BackendResult {
  /** The tfjs backend now active: tensorflow, webgpu, wasm or cpu. */
  name: string;
  /** One line on what was chosen, then one line per backend passed over and why. */
  reasons: string[];
}

/** The native TensorFlow bindings, best first. Both are optional dependencies (their installers download). */
export const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

type Attempt = { ok: true; detail: string } | { ok: false; why: string };

/**
 * Chooses and initializes the tfjs backend. `auto` tries tensorflow (tfjs-node-gpu, then tfjs-node), webgpu
 * when a real (not software/fallback) GPU adapter exists, wasm, then cpu. An explicit choice that is not
 * available is a ConfigError that says why. Our kernels (scatter-add UnsortedSegmentSum, 2-D-sliced wasm
 * BatchMatMul) are registered before the backend initializes, and so are tfjs's gradients (see gradients.ts). Logs the outcome to stderr unless `quiet`.
 */
export async function initBackend(choice: BackendChoice, opts: { quiet?: boolean } = {}): Promise<BackendResult> {
  const order: Exclude<BackendChoice, 'auto'>[] = choice === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [choice];
  if (!ATTEMPTS[order[0]]) throw new ConfigError(`run.backend=${choice}: expected one of ${Object.keys(ATTEMPTS).join(', ')} or auto`);
  // tfjs's warnings (the cpu backend's "Hi, looks like you are running TensorFlow.js in Node.js" banner) are
  // off; what was chosen and why is the engine line below.
  tf.env().set('PROD', true);
  processThreads(); // a bad MARGIN_MSE_THREADS is the user's error here, not a reason for auto to pass wasm over
  await registerGradients();
  const passed: string[] = [];
  for (const name of order) {
    const attempt = await ATTEMPTS[name](choice === 'auto');
    if (attempt.ok) {
      const result = { name, reasons: [`using ${name}: ${attempt.detail}`, ...passed] };
      if (!opts.quiet) process.stderr.write(`engine: ${result.reasons.join('\n  ')}\n`);
      return result;
    }
    passed.push(`not ${name}: ${attempt.why}`);
  }
  throw new ConfigError(`run.backend=${choice}: no backend could start here\n  ${passed.join('\n  ')}`);
}

const ATTEMPTS: Record<Exclude<BackendChoice, 'auto'>, (auto: boolean) => Promise<Attempt>> = {
  tensorflow: initTensorflow,
  webgpu: async (auto) => {
    const r = await initWebgpu({ requireHardware: auto });
    return r.ok ? { ok: true, detail: r.detail } : { ok: false, why: r.why };
  },
  wasm: initWasm,
  cpu: initCpu,
};

async function initTensorflow(): Promise<Attempt> {
  const why: string[] = [];
  for (const pkg of TENSORFLOW_PACKAGES) {
    try {
      // A variable specifier: these optional packages are usually absent, and their absence is not a type error.
      const spec: string = pkg;
      await import(spec);
    } catch (err) {
      const absent = (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && firstLine(err).includes(pkg);
      why.push(absent ? `${pkg} is not installed` : `${pkg} does not load (${firstLine(err)})`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow') == null) {
      why.push(`${pkg} loaded but registered no "tensorflow" backend on this tfjs-core ${tf.version_core} (pin every @tensorflow package to one version)`);
      continue;
    }
    if (await setBackendQuietly('tensorflow')) return { ok: true, detail: `${pkg} (libtensorflow)` };
    why.push(`${pkg} loaded but its backend failed to initialize`);
  }
  why.push('both are optional dependencies whose installers download libtensorflow; `margin-mse doctor` says what is missing');
  return { ok: false, why: why.join('; ') };
}

async function initWasm(): Promise<Attempt> {
  let wanted: number;
  try {
    wanted = wasmThreadsWanted();
    registerWasmKernels();
  } catch (err) {
    return { ok: false, why: firstLine(err) };
  }
  const threads = await withoutNewProcessListeners(() => startWasm(wanted, setBackendQuietly));
  if (threads == null) return { ok: false, why: `the wasm module failed to initialize (${wanted} thread(s); ${THREADS_ENV}=1 selects the single-threaded build)` };
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { ok: true, detail: `@tensorflow/tfjs-backend-wasm ${tf.version_core}, ${simd ? 'SIMD' : 'no SIMD (slow)'}, ${threads} thread(s)` };
}

async function initCpu(): Promise<Attempt> {
  registerCpuKernels();
  if (!(await setBackendQuietly('cpu'))) return { ok: false, why: 'the cpu backend failed to initialize' };
  return { ok: true, detail: 'pure JavaScript, for small correctness checks (slow)' };
}

/**
 * Runs `start` and then removes the 'uncaughtException' and 'unhandledRejection' listeners it added. The wasm
 * module (emscripten) installs listeners that rethrow every error, which makes Node exit with code 7 and print
 * the throwing line: a whole minified source line, 40 KB. Its own clean-up is broken (a precedence bug), so it
 * never removes them; with them gone the CLI's own handlers (cli/failure.ts) report errors.
 */
async function withoutNewProcessListeners<T>(start: () => Promise<T>): Promise<T> {
  const events: string[] = ['uncaughtException', 'unhandledRejection'];
  const before = events.map((e) => new Set(process.listeners(e as NodeJS.Signals)));
  try {
    return await start();
  } finally {
    events.forEach((e, i) => {
      for (const l of process.listeners(e as NodeJS.Signals)) if (!before[i].has(l)) process.removeListener(e, l);
    });
  }
}

/** tf.setBackend logs and returns false when a backend's factory fails; we report the reason ourselves. */
export async function setBackendQuietly(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}

export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0].slice(0, 300);
}
