import { describe, expect, it } from 'vitest';
import { formatDoctor, runDoctor } from './doctor.js';
import { checkLibrary, linkerCache } from './native-libs.js';

describe('checkLibrary', () => {
  it('a present library loads (dlopen succeeds; "did not self-register" is not a failure)', () => {
    const cache = linkerCache();
    expect(cache.get('libm.so.6')).toMatch(/libm\.so\.6$/);
    const r = checkLibrary('libm.so.6', 'C math', cache);
    expect(r.loads).toBe(true);
    expect(r.error).toBeUndefined();
  });

  it('a missing library says why and lists the versions that are installed instead', () => {
    const cache = new Map([['libcudart.so.13', '/usr/local/cuda-13.0/lib/libcudart.so.13'], ['libcudart.so', '/x/libcudart.so']]);
    const r = checkLibrary('libcudart.so.999', 'CUDA runtime', cache);
    expect(r.loads).toBe(false);
    expect(r.error).toMatch(/libcudart\.so\.999: cannot open shared object file/);
    expect(r.otherVersions).toEqual(['libcudart.so.13']);
  });

  it('a library file that is not there is reported by its path', () => {
    const r = checkLibrary('libtensorflow.so.2', 'libtensorflow', new Map(), '/nonexistent/deps/lib/libtensorflow.so.2');
    expect(r).toMatchObject({ loads: false, error: '/nonexistent/deps/lib/libtensorflow.so.2 does not exist' });
  });
});

describe('runDoctor', () => {
  it('reports every backend, the versions, the CUDA libraries, and a hint for what is missing', async () => {
    const r = await runDoctor();
    const byName = Object.fromEntries(r.backends.map((b) => [b.name, b]));
    expect(byName.wasm.available).toBe(true);
    expect(byName.cpu.available).toBe(true);
    expect(byName.tensorflow).toMatchObject({ available: false });
    expect(byName.tensorflow.detail).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
    expect(r.packages.find((p) => p.name === '@tensorflow/tfjs-core')?.version).toBe('4.22.0');
    expect(r.problems).toEqual([]);
    expect(r.cuda.map((l) => l.soname)).toContain('libcudnn.so.8');
    expect(r.hints.join('\n')).toMatch(/TFJS_NODE_CDN_STORAGE=<mirror>\/ npm_config_tfjs_binding_binary_host_mirror=<mirror>\/addon\//);
    const text = formatDoctor(r);
    expect(text).toMatch(/^ {2}wasm {8}yes {2}@tensorflow\/tfjs-backend-wasm 4\.22\.0, SIMD, \d thread\(s\)$/m);
    expect(text).toMatch(/libcudart\.so\.11\.0 +CUDA 11 runtime/);
  });
});

describe('runDoctor: ONNX Runtime', () => {
  it('reports its version, each provider usable or why not, what run.inference auto picks, and the CUDA 12 libraries', async () => {
    const r = await runDoctor();
    const pinned = r.packages.find((p) => p.name === 'onnxruntime-node')?.version;
    expect(r.onnx.version).toBe(pinned);
    expect(r.onnx.providers).toContainEqual({ name: 'cpu', usable: true });
    const cuda = r.onnx.providers.find((p) => p.name === 'cuda')!;
    if (!cuda.usable) expect(cuda.note).toMatch(/^(not installed: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js|installed, but does not start: .+)$/);
    // auto picks tensorflow or webgpu where they run; else wasm, where inference goes to ONNX Runtime.
    expect(r.onnx.inference).toBe(['wasm', 'cpu'].includes(r.auto) ? `onnx (auto: tfjs runs on ${r.auto})` : `tfjs (auto: tfjs runs on ${r.auto})`);
    expect(r.onnx.cuda.map((l) => l.soname)).toEqual(expect.arrayContaining(['libcudart.so.12', 'libcudnn.so.9']));
    const text = formatDoctor(r);
    expect(text).toContain(`ONNX Runtime (inference): ${pinned}\n  cpu         yes\n`);
    expect(text).toMatch(/^ {2}run\.inference auto picks: (onnx|tfjs) \(auto: tfjs runs on \w+\)$/m);
    expect(text).toMatch(/^ {4}libcudnn\.so\.9 +cuDNN 9 +(loads|missing)/m);
  });
});
