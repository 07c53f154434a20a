import { OutputError } from '../common/errors.js';
import { inputAtOutput } from '../common/same-file.js';

/**
 * Refuses an output that is one of the command's inputs (`--out` equal to `--queries` overwrote the queries
 * with the run). `inputs` maps each input flag to its path (undefined when not given); links are followed.
 */
export async function refuseOverwrite(out: string, inputs: Record<string, string | undefined>): Promise<void> {
  const hit = await inputAtOutput(out, Object.entries(inputs));
  if (hit) throw new OutputError(`${out}: --out is the ${hit[0]} input; refusing to overwrite it (write the output elsewhere)`);
}
