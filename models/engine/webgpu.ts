import * as tf from '@tensorflow/tfjs-core';
import { checkLibrary, linkerCache, type LibCheck } from './native-libs.js';

/**
 * WebGPU through Dawn: the `webgpu` npm package (an optional dependency) ships a prebuilt dawn.node, so
 * @tensorflow/tfjs-backend-webgpu runs in Node on any GPU with a Vulkan driver (NVIDIA, AMD, Intel) with
 * nothing but npm packages. Without a GPU, Mesa's software rasterizer (llvmpipe) serves through Dawn's
 * OpenGL ES backend (EGL_PLATFORM=surfaceless, compatibility feature level): slower than wasm, but a full
 * WebGPU implementation for tests. Debian 12's Vulkan software driver (lavapipe 22.3) is refused by Dawn.
 */

/** The subset of the WebGPU API used here (the full types come with the optional package). */
interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapter {
  info: GpuAdapterInfo;
}
interface Gpu {
  requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapter | null>;
}
interface Dawn {
  create(options: string[]): Gpu;
  globals: object;
}

export interface AdapterSummary {
  /** Dawn backend that served it: vulkan (real GPUs) or opengles (Mesa, here). */
  dawnBackend: 'vulkan' | 'opengles';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallback: boolean;
  /** A CPU implementation (llvmpipe, lavapipe, SwiftShader, or a fallback adapter): slower than wasm. */
  isSoftware: boolean;
}

export interface WebgpuProbe {
  adapter: AdapterSummary | null;
  /** Report lines for `doctor`: package, Vulkan loader, what each Dawn backend gave. */
  lines: string[];
  /** What to install when no adapter was found. */
  hints: string[];
  vulkanLoader: LibCheck;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

let dawn: Dawn | null = null;

async function loadDawn(): Promise<Dawn | string> {
  if (dawn) return dawn;
  try {
    const spec: string = 'webgpu'; // optional dependency: its absence is not a type error
    dawn = (await import(spec)) as Dawn;
    return dawn;
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' ? 'the `webgpu` package (Dawn) is not installed' : `the \`webgpu\` package does not load: ${message}`;
  }
}

function summarize(adapter: GpuAdapter, dawnBackend: AdapterSummary['dawnBackend']): AdapterSummary {
  const { vendor = '', architecture = '', device = '', description = '' } = adapter.info;
  const isFallback = adapter.info.isFallbackAdapter === true;
  return { dawnBackend, vendor, architecture, device, description, isFallback, isSoftware: isFallback || SOFTWARE.test(`${vendor} ${device} ${description}`) };
}

export function describeAdapter(a: AdapterSummary): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || a.description;
  return `${name} (${a.description}) via Dawn ${a.dawnBackend}, ${a.isSoftware ? `software${a.isFallback ? ', fallback' : ''} adapter` : 'GPU'}`;
}

/**
 * Finds the best adapter once per process: Dawn's Vulkan backend first (real GPUs), then OpenGL ES through
 * EGL without a display (Mesa's llvmpipe here). Dawn warns on stderr when the Vulkan loader is missing; the
 * probe reports that itself. `tried` says what each Dawn backend gave.
 */
function findAdapter(): Promise<Search> {
  search ??= searchAdapters();
  return search;
}

type Chosen = { gpu: Gpu; adapter: GpuAdapter; summary: AdapterSummary };
type Search = { chosen: Chosen | null; tried: string[] };
let search: Promise<Search> | null = null;

async function searchAdapters(): Promise<Search> {
  const tried: string[] = [];
  const d = await loadDawn();
  if (typeof d === 'string') return { chosen: null, tried: [d] };
  const attempts: { backend: AdapterSummary['dawnBackend']; options: string[]; request: Record<string, unknown> }[] = [
    { backend: 'vulkan', options: ['backend=vulkan'], request: { powerPreference: 'high-performance' } },
    { backend: 'opengles', options: ['backend=opengles'], request: { featureLevel: 'compatibility', powerPreference: 'high-performance' } },
  ];
  process.env.EGL_PLATFORM ??= 'surfaceless'; // Mesa's EGL without X or Wayland
  let chosen: Chosen | null = null;
  for (const a of attempts) {
    try {
      const gpu = d.create(a.options);
      const adapter = await gpu.requestAdapter(a.request);
      if (adapter == null) {
        tried.push(`Dawn ${a.backend}: no adapter`);
        continue;
      }
      const summary = summarize(adapter, a.backend);
      tried.push(`Dawn ${a.backend}: ${describeAdapter(summary)}`);
      if (chosen == null || (chosen.summary.isSoftware && !summary.isSoftware)) chosen = { gpu, adapter, summary };
      if (!summary.isSoftware) break;
    } catch (err) {
      tried.push(`Dawn ${a.backend}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  return { chosen, tried };
}

/** Looks for an adapter without starting the tfjs backend (for `doctor`). */
export async function probeWebgpu(): Promise<WebgpuProbe> {
  const vulkanLoader = checkLibrary('libvulkan.so.1', 'Vulkan loader', linkerCache());
  const { chosen: found, tried } = await findAdapter();
  const lines = [
    `Vulkan loader libvulkan.so.1: ${vulkanLoader.loads ? `loads${vulkanLoader.path ? ` (${vulkanLoader.path})` : ''}` : 'missing'}`,
    ...tried,
    found ? `adapter: ${describeAdapter(found.summary)}` : 'adapter: none',
  ];
  const hints: string[] = [];
  if (!found || found.summary.isSoftware) {
    hints.push(
      'webgpu on a GPU needs the Vulkan loader (Debian: libvulkan1) and the vendor\'s Vulkan driver: NVIDIA\'s driver ' +
        '(in containers: NVIDIA_DRIVER_CAPABILITIES must include graphics), AMD/Intel: mesa-vulkan-drivers. ' +
        'Without a GPU, Mesa through OpenGL ES gives a software adapter for tests (Debian: libegl1 libegl-mesa0 libgbm1 libgl1-mesa-dri).',
    );
  }
  return { adapter: found?.summary ?? null, lines, hints, vulkanLoader };
}

/**
 * Starts tfjs's webgpu backend on the best adapter. With `requireHardware` (the `auto` choice) a software
 * adapter is refused: it is slower than wasm.
 */
export async function initWebgpu(opts: { requireHardware: boolean }): Promise<{ ok: true; detail: string } | { ok: false; why: string }> {
  const { chosen: found, tried } = await findAdapter();
  if (!found) return { ok: false, why: `no WebGPU adapter (${tried.join('; ')})` };
  if (opts.requireHardware && found.summary.isSoftware) {
    return { ok: false, why: `only a software adapter, slower than wasm: ${describeAdapter(found.summary)} (choose backend webgpu to use it anyway)` };
  }
  if (tf.findBackend('webgpu') == null || tf.getBackend() !== 'webgpu') {
    const g = globalThis as { navigator?: { gpu?: unknown } };
    Object.assign(globalThis, (dawn as Dawn).globals);
    // tfjs-backend-webgpu registers itself on import when navigator.gpu exists, and asks it for an adapter:
    // hand it the one chosen here (with the feature level it needs).
    const gpu = { requestAdapter: async () => found.adapter, getPreferredCanvasFormat: () => 'rgba8unorm', wgslLanguageFeatures: new Set() };
    if (g.navigator == null) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    try {
      if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu') return { ok: false, why: `the tfjs webgpu backend did not start on ${describeAdapter(found.summary)}` };
    } catch (err) {
      return { ok: false, why: `the tfjs webgpu backend failed on ${describeAdapter(found.summary)}: ${(err as Error).message}` };
    }
    explainReadSync();
  }
  return { ok: true, detail: `@tensorflow/tfjs-backend-webgpu ${tf.version_core} on ${describeAdapter(found.summary)}` };
}

/**
 * tfjs's webgpu backend reads GPU data synchronously (dataSync, arraySync) through a browser's
 * OffscreenCanvas, which Node lacks; asynchronous reads (`await t.data()`) work. Say so instead of
 * "OffscreenCanvas is not defined".
 */
function explainReadSync(): void {
  const backend = tf.backend() as unknown as { readSync(dataId: object): unknown; __explained?: boolean };
  if (backend.__explained) return;
  const inner = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    try {
      return inner(dataId);
    } catch (err) {
      if (err instanceof ReferenceError && /OffscreenCanvas/.test(err.message)) {
        throw new Error('the webgpu backend cannot read GPU tensors synchronously in Node (dataSync/arraySync/bufferSync): use `await t.data()` / `await t.array()`');
      }
      throw err;
    }
  };
  backend.__explained = true;
}
