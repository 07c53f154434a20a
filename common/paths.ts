import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project checkout's root (this file lives in <root>/common). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The shared reference data beside the checkout (../shared), or MARGIN_MSE_SHARED when set. */
export const SHARED = process.env.MARGIN_MSE_SHARED ?? path.resolve(ROOT, '..', 'shared');

export const sharedPath = (...parts: string[]): string => path.join(SHARED, ...parts);
