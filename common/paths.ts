import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * The project's root: this file lives in <root>/common, or compiled in <root>/dist/common. Assets (data/vocab,
 * configs/, models/engine/wasm-pthread-worker.cjs) are read from the root, never from dist/.
 */
export const ROOT = path.basename(path.dirname(HERE)) === 'dist' ? path.resolve(HERE, '..', '..') : path.resolve(HERE, '..');

/** The shared reference data beside the checkout (../shared), or MARGIN_MSE_SHARED when set. */
export const SHARED = process.env.MARGIN_MSE_SHARED ?? path.resolve(ROOT, '..', 'shared');

export const sharedPath = (...parts: string[]): string => path.join(SHARED, ...parts);
