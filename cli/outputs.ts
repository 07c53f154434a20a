import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { OutputError } from '../common/errors.js';

/** The file a path names (links followed); its absolute path when it does not exist yet. */
async function identity(p: string): Promise<string> {
  return fsp.realpath(p).catch(() => path.resolve(p));
}

/**
 * Refuses an output that is one of the command's inputs (`--out` equal to `--queries` overwrote the queries
 * with the run). `inputs` maps each input flag to its path (undefined when not given); links are followed.
 */
export async function refuseOverwrite(out: string, inputs: Record<string, string | undefined>): Promise<void> {
  const target = await identity(out);
  for (const [flag, file] of Object.entries(inputs)) {
    if (file !== undefined && (await identity(file)) === target) {
      throw new OutputError(`${out}: --out is the ${flag} input; refusing to overwrite it (write the output elsewhere)`);
    }
  }
}
