import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, InputError } from '../common/errors.js';
import { ROOT } from '../common/paths.js';

const BUNDLED = path.join(ROOT, 'data', 'vocab');
const SUFFIX = '-vocab.txt';

/**
 * A vocab setting: a bare name (no slash, no extension) means the bundled data/vocab/<name>-vocab.txt; a bare
 * name that is not bundled is a ConfigError naming it and the bundled ones (not a missing file deep in the
 * package). Apart from data/config.ts (which re-exports it) so that `data tokenize` resolves it without zod.
 */
export function resolveVocab(vocab: string): string {
  if (!/^[\w.-]+$/.test(vocab) || vocab.endsWith('.txt')) return vocab;
  const file = path.join(BUNDLED, `${vocab}${SUFFIX}`);
  if (!existsSync(file)) {
    const names = readdirSync(BUNDLED).filter((f) => f.endsWith(SUFFIX)).map((f) => f.slice(0, -SUFFIX.length));
    throw new ConfigError(`vocab ${vocab}: not a bundled vocabulary (bundled: ${names.join(', ')}); give the path of a vocab.txt`);
  }
  return file;
}

/**
 * The vocabulary of a model folder: `vocab` (a file or a bundled name, as data.vocab) when given, else the
 * folder's vocab.txt; each missing case is one line saying what to pass. Used by every command that reads a
 * model folder with its tokenizer (eval, teachers score).
 */
export function modelVocab(model: string, vocab?: string): string {
  if (vocab === undefined) {
    const own = path.join(model, 'vocab.txt');
    if (!existsSync(own)) throw new ConfigError(`${model}: the model folder has no vocab.txt; pass --vocab FILE, or a bundled name such as --vocab bert-base-uncased`);
    return own;
  }
  const file = resolveVocab(vocab);
  if (!existsSync(file)) throw new InputError(file, undefined, 'a WordPiece vocab.txt (--vocab)', 'no such file');
  return file;
}
