import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { ConfigError } from '../../common/config.js';
import { GraphBuilder } from '../onnx/graph.js';
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
      throw new ConfigError(`ONNX Runtime (onnxruntime-node) could not load: ${(e as Error).message.split('\n')[0]}`);
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

/** The command that installs the CUDA 12 provider beside the binding (it downloads from NuGet). */
export const CUDA_INSTALL = 'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js';

/** What the CUDA 12 provider of onnxruntime-node 1.30 loads, besides its own libraries (for `doctor`). */
export const ORT_CUDA_LIBS: readonly { soname: string; purpose: string }[] = [
  { soname: 'libcuda.so.1', purpose: 'NVIDIA driver' },
  { soname: 'libcudart.so.12', purpose: 'CUDA 12 runtime' },
  { soname: 'libcublas.so.12', purpose: 'cuBLAS (CUDA 12)' },
  { soname: 'libcublasLt.so.12', purpose: 'cuBLASLt (CUDA 12)' },
  { soname: 'libcufft.so.11', purpose: 'cuFFT (CUDA 12)' },
  { soname: 'libcurand.so.10', purpose: 'cuRAND (CUDA 12)' },
  { soname: 'libcudnn.so.9', purpose: 'cuDNN 9' },
];

export interface OnnxRuntimeInfo {
  version: string;
  /** Execution providers this build knows, and whether each can be used here (or why not). */
  providers: { name: string; usable: boolean; note?: string }[];
}

/** y = x + 1: the smallest model a provider can be tried on. */
function probeModel(): Uint8Array {
  const g = new GraphBuilder();
  g.node('Add', [g.input('x', 'float32', ['n']), g.scalar('one', 1)], {}, 'y');
  g.output('y', 'float32', ['n']);
  return g.toBytes({ graphName: 'probe' });
}

/** ONNX Runtime's version and execution providers, for `doctor`; an installed CUDA provider is tried on a tiny model. */
export async function onnxRuntimeInfo(): Promise<OnnxRuntimeInfo> {
  const ort = await loadOrt();
  const providers: OnnxRuntimeInfo['providers'] = [];
  for (const { name, bundled } of ort.listSupportedBackends()) {
    if (bundled) providers.push(name === 'cpu' ? { name, usable: true } : { name, usable: true, note: 'bundled, not used by margin-mse (it runs on cpu or cuda)' });
    else if (name === 'cuda' && !cudaInstalled()) providers.push({ name, usable: false, note: `not installed: ${CUDA_INSTALL}` });
    else if (name === 'cuda') {
      try {
        const s = await createOnnxSession(probeModel(), { provider: 'cuda', threads: 1 });
        await s.release();
        providers.push({ name, usable: true, note: '--inference onnx uses it' });
      } catch (e) {
        providers.push({ name, usable: false, note: `installed, but does not start: ${(e as Error).message.replace(/^ONNX Runtime: the CUDA provider failed: /, '')}` });
      }
    } else providers.push({ name, usable: false, note: `not used by margin-mse${name === 'tensorrt' ? ` (installed with the CUDA provider by ${CUDA_INSTALL})` : ''}` });
  }
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
    throw new ConfigError(`ONNX Runtime: the CUDA provider is not installed (${CUDA_INSTALL})`);
  }
  let fallback: string | undefined; // set only when CUDA is installed but did not start
  if (choice !== 'cpu' && cudaInstalled()) {
    try {
      return make('cuda', await ort.InferenceSession.create(model, { ...base, executionProviders: ['cuda', 'cpu'] }));
    } catch (e) {
      if (choice === 'cuda') throw new ConfigError(`ONNX Runtime: the CUDA provider failed: ${(e as Error).message.split('\n')[0]}`);
      fallback = (e as Error).message.split('\n')[0];
    }
  }
  return make('cpu', await ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] }), fallback);
}
