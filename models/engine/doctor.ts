import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../common/paths.js';
import { initBackend, TENSORFLOW_PACKAGES, type BackendChoice } from './backend.js';
import { chooseInference } from './inference.js';
import { checkLibrary, CUDA_LIBS, linkerCache, type LibCheck } from './native-libs.js';
import { CUDA_INSTALL, onnxRuntimeInfo, ORT_CUDA_LIBS, type OnnxRuntimeInfo } from './onnx-runtime.js';
import { probeWebgpu, webgpuAvailability, type WebgpuProbe } from './webgpu.js';

/** What `margin-mse doctor` found: every backend, the packages behind them, and what a GPU path lacks. */
export interface DoctorReport {
  node: string;
  platform: string;
  packages: { name: string; version: string | null }[];
  /** Each backend tried on its own, as `run.backend: <name>` would. */
  backends: { name: Exclude<BackendChoice, 'auto'>; available: boolean; detail: string }[];
  /** What `auto` picks here. */
  auto: string;
  tensorflow: { package: string; installed: boolean; libs: LibCheck[] }[];
  cuda: LibCheck[];
  webgpu: WebgpuProbe;
  /** ONNX Runtime (the inference engine beside tfjs): version and providers, or why it does not load. */
  onnx: {
    version: string | null;
    error?: string;
    providers: OnnxRuntimeInfo['providers'];
    /** What `run.inference: auto` picks here, with the backend `auto` picks. */
    inference: string;
    /** What its CUDA 12 provider needs. */
    cuda: LibCheck[];
  };
  hints: string[];
  problems: string[];
}

export const PACKAGES = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
  ...TENSORFLOW_PACKAGES,
  'webgpu',
  'onnxruntime-node',
];

export async function runDoctor(): Promise<DoctorReport> {
  const packages = PACKAGES.map((name) => ({ name, version: packageVersion(name) }));
  const problems: string[] = [];
  const core = packages[0].version;
  for (const p of packages) {
    if (p.name.startsWith('@tensorflow/') && p.version != null && p.version !== core) {
      problems.push(`${p.name} ${p.version} differs from @tensorflow/tfjs-core ${core}: pin every @tensorflow package to one version, or its backend registers on another tfjs-core`);
    }
  }

  const backends: DoctorReport['backends'] = [];
  for (const name of ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const) {
    if (name === 'webgpu') {
      backends.push(await webgpuAvailability()); // from a quiet probe: Dawn in this process would warn on stderr
      continue;
    }
    try {
      const r = await initBackend(name, { quiet: true });
      backends.push({ name, available: true, detail: r.reasons[0].replace(/^using \w+: /, '') });
    } catch (err) {
      backends.push({ name, available: false, detail: (err as Error).message.split('\n').slice(1).join('; ').replace(/^\s*not \w+: /, '') });
    }
  }
  const auto = (await initBackend('auto', { quiet: true })).name;

  const cache = linkerCache();
  const tensorflow = TENSORFLOW_PACKAGES.map((pkg) => {
    const dir = packageDir(pkg);
    const libDir = dir && path.join(dir, 'deps', 'lib');
    const libs = libDir
      ? ['libtensorflow.so.2', 'libtensorflow_framework.so.2'].map((so) => checkLibrary(so, `libtensorflow 2.9.1 (${pkg})`, cache, path.join(libDir, so)))
      : [];
    return { package: pkg, installed: dir != null, libs };
  });
  const cuda = CUDA_LIBS.map((l) => checkLibrary(l.soname, l.purpose, cache));
  const webgpu = await probeWebgpu();
  const onnx = await onnxSection(auto, cache);

  const hints: string[] = [];
  if (!backends[0].available) {
    hints.push(
      'tensorflow backend: `npm install --save-exact @tensorflow/tfjs-node-gpu@4.22.0` (CUDA) or `@tensorflow/tfjs-node@4.22.0` (CPU). ' +
        'Their installers download libtensorflow 2.9.1 and a prebuilt addon over http(s); behind a firewall point them at a mirror: ' +
        '`TFJS_NODE_CDN_STORAGE=<mirror>/ npm_config_tfjs_binding_binary_host_mirror=<mirror>/addon/ npm install ...`.',
    );
  }
  const missingCuda = cuda.filter((l) => !l.loads);
  if (missingCuda.length > 0) {
    hints.push(
      `tfjs-node-gpu needs CUDA 11.2 and cuDNN 8.1 (missing here: ${missingCuda.map((l) => l.soname).join(', ')}); install them from NVIDIA ` +
        'and put their lib folder on LD_LIBRARY_PATH. Newer CUDA majors do not satisfy these sonames.',
    );
  }
  if (!webgpu.adapter) hints.push(...webgpu.hints);
  if (onnx.providers.some((p) => p.name === 'cuda' && !p.usable) && onnx.cuda.some((l) => l.soname === 'libcuda.so.1' && l.loads)) {
    hints.push(`ONNX Runtime on the GPU: with CUDA 12 and cuDNN 9 installed, \`${CUDA_INSTALL}\` fetches the CUDA provider (from NuGet); --inference onnx then uses it.`);
  }
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    packages,
    backends,
    auto,
    tensorflow,
    cuda,
    webgpu,
    onnx,
    hints,
    problems,
  };
}

async function onnxSection(autoBackend: string, cache: Map<string, string>): Promise<DoctorReport['onnx']> {
  const cuda = ORT_CUDA_LIBS.map((l) => checkLibrary(l.soname, l.purpose, cache));
  const plan = await chooseInference('auto', autoBackend);
  const inference = `${plan.engine} (${plan.why})`;
  try {
    const info = await onnxRuntimeInfo();
    return { version: info.version, providers: info.providers, inference, cuda };
  } catch (e) {
    return { version: null, error: (e as Error).message.split('\n')[0], providers: [], inference, cuda };
  }
}

/** The report as text for a terminal. */
export function formatDoctor(r: DoctorReport): string {
  const lines: string[] = [];
  lines.push(`node ${r.node} on ${r.platform}`, '', 'packages:');
  for (const p of r.packages) lines.push(`  ${p.name.padEnd(32)} ${p.version ?? 'not installed'}`);
  lines.push('', 'backends:');
  for (const b of r.backends) lines.push(`  ${b.name.padEnd(11)} ${b.available ? 'yes' : 'no '}  ${b.detail}`);
  lines.push(`  auto picks: ${r.auto}`, '', 'tensorflow (libtensorflow inside the package):');
  for (const t of r.tensorflow) {
    lines.push(`  ${t.package}: ${t.installed ? 'installed' : 'not installed'}`);
    for (const l of t.libs) lines.push(libLine(l));
  }
  lines.push('', 'CUDA libraries for tfjs-node-gpu (CUDA 11.2, cuDNN 8.1):');
  for (const l of r.cuda) lines.push(libLine(l));
  lines.push('', 'webgpu (Dawn through the `webgpu` package):', ...r.webgpu.lines.map((l) => `  ${l}`));
  lines.push('', `ONNX Runtime (inference): ${r.onnx.version ?? `does not load: ${r.onnx.error}`}`);
  for (const p of r.onnx.providers) lines.push(`  ${p.name.padEnd(11)} ${p.usable ? 'yes' : 'no '}${p.note ? `  ${p.note}` : ''}`);
  lines.push(`  run.inference auto picks: ${r.onnx.inference}`, '', 'CUDA libraries for ONNX Runtime\'s CUDA provider (CUDA 12, cuDNN 9):');
  for (const l of r.onnx.cuda) lines.push(libLine(l));
  if (r.problems.length > 0) lines.push('', 'problems:', ...r.problems.map((p) => `  - ${p}`));
  if (r.hints.length > 0) lines.push('', 'hints:', ...r.hints.map((h) => `  - ${h}`));
  return lines.join('\n');
}

function libLine(l: LibCheck): string {
  const where = l.path ? ` (${l.path})` : '';
  const status = l.loads ? `loads${where}` : `missing: ${l.error ?? 'not found'}`;
  const others = l.otherVersions.length > 0 ? `; installed instead: ${l.otherVersions.join(', ')}` : '';
  return `    ${l.soname.padEnd(30)} ${l.purpose.padEnd(22)} ${status}${others}`;
}

/** A package's folder in node_modules (walking up from the checkout), or null. */
function packageDir(name: string): string | null {
  for (let dir = ROOT; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

function packageVersion(name: string): string | null {
  const dir = packageDir(name);
  if (dir == null) return null;
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
}
