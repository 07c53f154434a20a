import path from 'node:path';
import { ROOT } from '../common/paths.js';

/**
 * A vocab setting: a bare name (no slash, no extension) means the bundled data/vocab/<name>-vocab.txt.
 * Apart from data/config.ts (which re-exports it) so that `data tokenize` resolves it without loading zod.
 */
export function resolveVocab(vocab: string): string {
  return /^[\w.-]+$/.test(vocab) && !vocab.endsWith('.txt') ? path.join(ROOT, 'data', 'vocab', `${vocab}-vocab.txt`) : vocab;
}
