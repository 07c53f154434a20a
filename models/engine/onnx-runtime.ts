import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { processThreads } from './threads.js';

/**
 * ONNX Runtime (onnxruntime-node) for the forward-only work: sessions made from ONNX bytes in memory, with
 * intra-op threads = the cores given to the process, on the CUDA execution provider when it is installed and
 * works, on the CPU provider otherwise.
 *
 * The package is loaded on first use (a dynamic import), so a machine where its native library cannot load
 * still runs everything else, and the failure is one clear error when ONNX Runtime is asked for.
 *
 * CUDA: the npm package holds the CPU library only. Its installer can fetch the CUDA 12 provider libraries
 * (from NuGet); the project's .npmrc and package.json turn that off so `npm ci` needs npm alone. A GPU user
 * runs `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` once (it also
 * needs CUDA 12 and cuDNN 9 on the machine); the provider libraries then sit beside the binding, where
 * cudaInstalled() looks.
 */

type Ort = typeof import('onnxruntime-node');

export type OnnxProvider = 'cpu' | 'cuda';
/** `auto`: CUDA when installed and working, else CPU; `cuda`: CUDA or an error; `cpu`: CPU. */
export type OnnxProviderChoice = 'auto' | OnnxProvider;

let ortPromise: Promise<Ort> | null = null;

/** onnxruntime-node, loaded once. */
export function loadOrt(): Promise<Ort> {
  ortPromise ??= import('onnxruntime-node').then(
    (m) => (m.default ?? m) as Ort,
    (e: unknown) => {
      ortPromise = null;
      throw new Error(`ONNX Runtime (onnxruntime-node) could not load: ${(e as Error).message.split('\n')[0]}`);
    },
  );
  return ortPromise;
}

/** Where onnxruntime-node keeps its native libraries for this platform. */
function bindingDir(): string {
  const main = createRequire(import.meta.url).resolve('onnxruntime-node'); // <pkg>/dist/index.js
  return path.join(path.dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** Whether the CUDA provider's libraries were installed beside the binding (Linux x64 only). */
export function cudaInstalled(): boolean {
  return existsSync(path.join(bindingDir(), 'libonnxruntime_providers_cuda.so'));
}

export interface OnnxRuntimeInfo {
  version: string;
  /** Execution providers this build knows, and whether each can be used here. */
  providers: { name: string; usable: boolean; note?: string }[];
}

/** ONNX Runtime's version and execution providers, for `doctor`. */
export async function onnxRuntimeInfo(): Promise<OnnxRuntimeInfo> {
  const ort = await loadOrt();
  const providers = ort.listSupportedBackends().map(({ name, bundled }) => {
    if (bundled) return { name, usable: true };
    if (name === 'cuda') {
      return cudaInstalled()
        ? { name, usable: true, note: 'provider libraries installed; needs CUDA 12, cuDNN 9 and a GPU at run time' }
        : { name, usable: false, note: 'not installed: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js' };
    }
    return { name, usable: false, note: 'not bundled with onnxruntime-node' };
  });
  return { version: ort.env.versions.node ?? ort.env.versions.common, providers };
}

export interface OnnxSessionOptions {
  /** Intra-op threads; default the process's cores (models/engine/threads.ts). */
  threads?: number;
  provider?: OnnxProviderChoice;
  /**
   * Whether idle intra-op threads spin-wait for the next op (ONNX Runtime's default, true). Spinning wins on
   * idle cores and loses when other processes share them: false yields the cores between ops.
   */
  spinning?: boolean;
}

/** A session and how it runs (for the line a run prints about its engine). */
export interface OnnxSession {
  readonly session: InferenceSession;
  readonly ort: Ort;
  readonly provider: OnnxProvider;
  readonly threads: number;
  /** Why `auto` fell back to the CPU, when it did. */
  readonly fallback?: string;
  /** e.g. "ONNX Runtime 1.30.0, cpu provider, 2 threads". */
  describe(): string;
  release(): Promise<void>;
}

/** A session over an ONNX model held in memory (no file), on the provider and threads asked for. */
export async function createOnnxSession(model: Uint8Array, opts: OnnxSessionOptions = {}): Promise<OnnxSession> {
  const ort = await loadOrt();
  const threads = opts.threads ?? processThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`ONNX Runtime: expected a whole number of threads >= 1, got ${threads}`);
  const choice = opts.provider ?? 'auto';
  const spinning = opts.spinning ?? true;
  const base: InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1, // the graphs are one chain of ops: parallelism is inside the ops
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    ...(spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
  const make = (provider: OnnxProvider, session: InferenceSession, fallback?: string): OnnxSession => ({
    session,
    ort,
    provider,
    threads,
    fallback,
    describe: () =>
      `ONNX Runtime ${ort.env.versions.node ?? ort.env.versions.common}, ${provider} provider, ${threads} thread${threads === 1 ? '' : 's'}` +
      `${spinning ? '' : ' (no spinning)'}${fallback ? ` (CUDA not used: ${fallback})` : ''}`,
    release: () => session.release(),
  });

  if (choice === 'cuda' && !cudaInstalled()) {
    throw new Error('ONNX Runtime: the CUDA provider is not installed (ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js)');
  }
  let fallback: string | undefined; // set only when CUDA is installed but did not start
  if (choice !== 'cpu' && cudaInstalled()) {
    try {
      return make('cuda', await ort.InferenceSession.create(model, { ...base, executionProviders: ['cuda', 'cpu'] }));
    } catch (e) {
      if (choice === 'cuda') throw new Error(`ONNX Runtime: the CUDA provider failed: ${(e as Error).message.split('\n')[0]}`);
      fallback = (e as Error).message.split('\n')[0];
    }
  }
  return make('cpu', await ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] }), fallback);
}
