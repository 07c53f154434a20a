import { createRequire } from 'node:module';
import path from 'node:path';
import { env } from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/**
 * Points the wasm backend at its .wasm binaries inside node_modules (under tsx or a bundler the package's
 * own guess of its location can be wrong) and keeps it single-threaded: Node has no Worker-based pthreads
 * for it, so the threaded build cannot start. Returns the folder used.
 */
export function configureWasm(): string {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
  setWasmPaths(`${dir}${path.sep}`);
  env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  return dir;
}
