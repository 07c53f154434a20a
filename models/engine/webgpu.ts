import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
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

/** How each Dawn backend is asked for an adapter: Vulkan (real GPUs), then OpenGL ES through EGL without a display. */
const ATTEMPTS: Record<AdapterSummary['dawnBackend'], { options: string[]; request: Record<string, unknown> }> = {
  vulkan: { options: ['backend=vulkan'], request: { powerPreference: 'high-performance' } },
  opengles: { options: ['backend=opengles'], request: { featureLevel: 'compatibility', powerPreference: 'high-performance' } },
};

/**
 * The adapter search, run in a child process (below): Dawn prints its warnings straight to the process's
 * stderr from native code ("Couldn't load Vulkan", "maxDynamicUniformBuffers… artificially reduced" for every
 * OpenGL ES adapter), which Node cannot silence in-process. The child's stderr is dropped; it prints what each
 * backend gave as JSON. Plain JavaScript with no project imports, so it runs under dist/ and tsx alike.
 */
const PROBE_SCRIPT = `
const { dawnUrl, backends, attempts } = JSON.parse(process.env.MARGIN_MSE_WEBGPU_PROBE);
process.env.EGL_PLATFORM ??= 'surfaceless';
const out = [];
try {
  const d = await import(dawnUrl);
  for (const b of backends) {
    try {
      const adapter = await d.create(attempts[b].options).requestAdapter(attempts[b].request);
      // Field by field: dawn.node's info fields are getters, which a spread ({ ...info }) does not copy.
      const i = adapter && adapter.info;
      out.push({ backend: b, info: i ? { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter } : null });
      if (adapter) {
        const i = adapter.info;
        if (!/llvmpipe|lavapipe|softpipe|swiftshader|software/i.test(i.vendor + ' ' + i.device + ' ' + i.description) && !i.isFallbackAdapter) break;
      }
    } catch (err) {
      out.push({ backend: b, error: String(err && err.message || err).split('\\n')[0] });
    }
  }
} catch (err) {
  out.push({ error: String(err && err.message || err).split('\\n')[0] });
}
process.stdout.write(JSON.stringify(out));
process.exit(0);
`;

type ProbeRow = { backend?: AdapterSummary['dawnBackend']; info?: GpuAdapterInfo | null; error?: string };
type Found = { backend: AdapterSummary['dawnBackend']; summary: AdapterSummary };
type Search = { found: Found | null; tried: string[]; vulkanLoader: LibCheck };
let search: Promise<Search> | null = null;

/** The best adapter, looked for once per process in a quiet child process; `tried` says what each Dawn backend gave. */
function findAdapter(): Promise<Search> {
  search ??= searchAdapters();
  return search;
}

async function searchAdapters(): Promise<Search> {
  const vulkanLoader = checkLibrary('libvulkan.so.1', 'Vulkan loader', linkerCache());
  let dawnUrl: string;
  try {
    dawnUrl = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch {
    return { found: null, tried: ['the `webgpu` package (Dawn) is not installed'], vulkanLoader };
  }
  // Without the Vulkan loader Dawn's Vulkan backend can only fail (and warn): not asked.
  const backends: AdapterSummary['dawnBackend'][] = vulkanLoader.loads ? ['vulkan', 'opengles'] : ['opengles'];
  const tried = vulkanLoader.loads ? [] : ['Dawn vulkan: not tried (no Vulkan loader libvulkan.so.1)'];
  const env = { ...process.env, MARGIN_MSE_WEBGPU_PROBE: JSON.stringify({ dawnUrl, backends, attempts: ATTEMPTS }) };
  const r = await new Promise<{ stdout: string; error?: Error }>((resolve) =>
    execFile(process.execPath, ['--input-type=module', '-e', PROBE_SCRIPT], { env, timeout: 60_000, maxBuffer: 1 << 20 }, (error, stdout) => resolve({ stdout, error: error ?? undefined })),
  );
  let rows: ProbeRow[];
  try {
    rows = JSON.parse(r.stdout) as ProbeRow[];
  } catch {
    return { found: null, tried: [...tried, `the adapter probe failed (${(r.error?.message ?? 'no output').split('\n')[0]})`], vulkanLoader };
  }
  let found: Found | null = null;
  for (const row of rows) {
    if (!row.backend) {
      tried.push(`the \`webgpu\` package does not load: ${row.error}`);
      continue;
    }
    if (row.error !== undefined) tried.push(`Dawn ${row.backend}: ${row.error}`);
    else if (!row.info) tried.push(`Dawn ${row.backend}: no adapter`);
    else {
      const summary = summarize({ info: row.info }, row.backend);
      tried.push(`Dawn ${row.backend}: ${describeAdapter(summary)}`);
      if (found == null || (found.summary.isSoftware && !summary.isSoftware)) found = { backend: row.backend, summary };
    }
  }
  return { found, tried, vulkanLoader };
}

/** Looks for an adapter without starting the tfjs backend (for `doctor`). */
export async function probeWebgpu(): Promise<WebgpuProbe> {
  const { found, tried, vulkanLoader } = await findAdapter();
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
 * Whether `run.backend=webgpu` would find an adapter, for `doctor`, without starting Dawn in this process
 * (the tfjs backend then starts on that adapter when chosen).
 */
export async function webgpuAvailability(): Promise<{ name: 'webgpu'; available: boolean; detail: string }> {
  const { found, tried } = await findAdapter();
  return found
    ? { name: 'webgpu', available: true, detail: `@tensorflow/tfjs-backend-webgpu ${tf.version_core} on ${describeAdapter(found.summary)}` }
    : { name: 'webgpu', available: false, detail: `no WebGPU adapter (${tried.join('; ')})` };
}

/**
 * Starts tfjs's webgpu backend on the best adapter. With `requireHardware` (the `auto` choice) a software
 * adapter is refused: it is slower than wasm.
 */
export async function initWebgpu(opts: { requireHardware: boolean }): Promise<{ ok: true; detail: string } | { ok: false; why: string }> {
  const { found, tried } = await findAdapter();
  if (!found) return { ok: false, why: `no WebGPU adapter (${tried.join('; ')})` };
  if (opts.requireHardware && found.summary.isSoftware) {
    return { ok: false, why: `only a software adapter, slower than wasm: ${describeAdapter(found.summary)} (choose backend webgpu to use it anyway)` };
  }
  if (tf.findBackend('webgpu') == null || tf.getBackend() !== 'webgpu') {
    // Now in this process (Dawn may warn here: the user chose webgpu, or auto found a GPU).
    const chosen = await openAdapter(found.backend);
    if (typeof chosen === 'string') return { ok: false, why: chosen };
    const g = globalThis as { navigator?: { gpu?: unknown } };
    Object.assign(globalThis, (dawn as Dawn).globals);
    // tfjs-backend-webgpu registers itself on import when navigator.gpu exists, and asks it for an adapter:
    // hand it the one chosen here (with the feature level it needs).
    const gpu = { requestAdapter: async () => chosen, getPreferredCanvasFormat: () => 'rgba8unorm', wgslLanguageFeatures: new Set() };
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
 * The adapter of one Dawn backend in this process, or why there is none; opened once per process and kept
 * with its Dawn instance: a second instance, or the first one collected while its adapter is in use, ends
 * the process in Dawn's native code (std::system_error) when the backend is started again.
 */
const opened = new Map<AdapterSummary['dawnBackend'], { gpu: Gpu; adapter: GpuAdapter } | string>();

async function openAdapter(backend: AdapterSummary['dawnBackend']): Promise<GpuAdapter | string> {
  if (!opened.has(backend)) opened.set(backend, await createAdapter(backend));
  const o = opened.get(backend)!;
  return typeof o === 'string' ? o : o.adapter;
}

async function createAdapter(backend: AdapterSummary['dawnBackend']): Promise<{ gpu: Gpu; adapter: GpuAdapter } | string> {
  const d = await loadDawn();
  if (typeof d === 'string') return d;
  process.env.EGL_PLATFORM ??= 'surfaceless'; // Mesa's EGL without X or Wayland
  try {
    const gpu = d.create(ATTEMPTS[backend].options);
    const adapter = await gpu.requestAdapter(ATTEMPTS[backend].request);
    return adapter ? { gpu, adapter } : `Dawn ${backend}: no adapter in this process`;
  } catch (err) {
    return `Dawn ${backend}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
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
