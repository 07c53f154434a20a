import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../common/paths.js';
import { THREADS_ENV } from './threads.js';
import { WASM_MAX_THREADS, wasmThreadsWanted } from './wasm-setup.js';

const run = promisify(execFile);

describe('wasmThreadsWanted', () => {
  it(`reads ${THREADS_ENV} and caps it at the pool size`, () => {
    expect(wasmThreadsWanted({ [THREADS_ENV]: '1' })).toBe(1);
    expect(wasmThreadsWanted({ [THREADS_ENV]: '3' })).toBe(3);
    expect(wasmThreadsWanted({ [THREADS_ENV]: '64' })).toBe(WASM_MAX_THREADS);
    expect(wasmThreadsWanted({})).toBeGreaterThanOrEqual(1);
  });
});

// A child process per thread count: the wasm module starts once per process.
const CHILD = `(async () => {
  const { initBackend } = await import('./models/engine/backend.ts');
  const tf = await import('@tensorflow/tfjs-core');
  const { createHash } = await import('node:crypto');
  const r = await initBackend('wasm', { quiet: true });
  const a = tf.randomUniform([300, 256], -1, 1, 'float32', 1);
  const b = tf.randomUniform([256, 200], -1, 1, 'float32', 2);
  const c = tf.matMul(a, b).dataSync();
  const g = tf.grad((x) => tf.sum(tf.square(tf.matMul(x, b))))(a).dataSync(); // a transposed backward product too
  const hash = (v) => createHash('sha256').update(Buffer.from(v.buffer, v.byteOffset, v.byteLength)).digest('hex');
  console.log(JSON.stringify({ engine: r.reasons[0], product: hash(c), gradient: hash(g) }));
})();`;

async function child(threads: number): Promise<{ engine: string; product: string; gradient: string }> {
  // The timeout fails the test if the pool's workers keep the process alive after its work is done.
  const { stdout } = await run('npx', ['tsx', '-e', CHILD], { cwd: ROOT, env: { ...process.env, [THREADS_ENV]: String(threads) }, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { engine: string; product: string; gradient: string };
}

describe('wasm threads', () => {
  it('the threaded build starts under Node, gives the same bits as one thread, and lets the process exit', async () => {
    const [one, two] = [await child(1), await child(2)];
    expect(one.engine).toMatch(/SIMD, 1 thread\(s\)$/);
    expect(two.engine).toMatch(/SIMD, 2 thread\(s\)$/);
    // XNNPACK splits the output into tiles, one thread per tile: every element is summed in the same order.
    expect(two.product).toBe(one.product);
    expect(two.gradient).toBe(one.gradient);
  });
});
