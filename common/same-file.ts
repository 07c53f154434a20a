import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** The file a path names (links followed); its absolute path when it does not exist yet. */
const identity = (p: string): Promise<string> => fsp.realpath(p).catch(() => path.resolve(p));

/**
 * The first of `inputs` ([label, path], path undefined when not given) that names the same file as `out`,
 * links followed: an output written there would replace that input. Callers refuse it with their own words.
 */
export async function inputAtOutput(out: string, inputs: readonly (readonly [string, string | undefined])[]): Promise<readonly [string, string] | undefined> {
  const target = await identity(out);
  for (const [label, file] of inputs) {
    if (file !== undefined && (await identity(file)) === target) return [label, file];
  }
  return undefined;
}
