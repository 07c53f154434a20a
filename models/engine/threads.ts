import os from 'node:os';
import { ConfigError } from '../../common/config.js';

/**
 * The one thread knob: MARGIN_MSE_THREADS is the number of cores given to this process, used by the wasm
 * backend's XNNPACK threads and by ONNX Runtime's intra-op threads alike (a sweep sets it per run so its
 * concurrent runs share the cores). Unset or empty: every core.
 */
export const THREADS_ENV = 'MARGIN_MSE_THREADS';

/** The cores given to this process; a value that is not a whole number >= 1 is a ConfigError. */
export function processThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[THREADS_ENV];
  if (raw == null || raw.trim() === '') return os.availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${THREADS_ENV}=${raw}: expected a whole number of threads >= 1 (the cores given to the process)`);
  return n;
}
