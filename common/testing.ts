import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A writer of small input files for tests, into its own temp folder `dir`. */
export interface TempFiles {
  /** Writes `content` to `name` (default: a new numbered name) in `dir`; returns the file's path. */
  (content: string | Uint8Array, name?: string): string;
  dir: string;
}

/** Test helper (no test runs here): a fresh temp folder named `<prefix>…` and a writer of files in it. */
export function tempFiles(prefix: string): TempFiles {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  let n = 0;
  const write = (content: string | Uint8Array, name = `f${n++}`): string => {
    const file = path.join(dir, name);
    writeFileSync(file, content);
    return file;
  };
  return Object.assign(write, { dir });
}
