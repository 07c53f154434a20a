import { promises as fsp } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError, parseConfig } from '../common/config.js';

/**
 * A sweep file: a base run config, fixed overrides, and the keys to vary (dotted config paths, as with
 * `--set`). A grid takes every combination of the listed values; a random search draws `samples` runs,
 * a list meaning "pick one" and `{min, max, log?, int?}` a uniform (or log-uniform) range. A listed value may
 * itself be a list or mapping (e.g. `train.loss: [margin-mse, [{name: margin-mse}, {name: in-batch}]]`).
 */
const Range = z
  .strictObject({
    min: z.number(),
    max: z.number(),
    log: z.boolean().default(false),
    int: z.boolean().default(false),
  })
  .refine((r) => r.min <= r.max, { message: 'min must not be above max' })
  // log(min) of 0 or less draws NaN for every run
  .refine((r) => !r.log || r.min > 0, { message: 'a log range needs min > 0' });
const Scalar = z.union([z.number(), z.string(), z.boolean()]);
/** A list or mapping as a value, e.g. a weighted loss mix for `train.loss`: passed to the run as YAML. */
const Structured = z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]);
const Param = z.union([z.array(z.union([Scalar, Structured])).min(1), Range]);

export const SweepConfig = z.strictObject({
  /** The sweep's folder name under out_dir. */
  name: z.string().regex(/^[\w.-]+$/, 'letters, digits, _ . - only'),
  /** The base run config (relative to this file), as `margin-mse train --config`. */
  base: z.string().optional(),
  /** Overrides for every run, `key.path=value`. */
  set: z.array(z.string()).default([]),
  /** Sweeps write `<out_dir>/<name>/<run>/` (relative to the working directory). */
  out_dir: z.string().default('checkpoints/sweeps'),
  method: z.enum(['grid', 'random']).default('grid'),
  /** Random search: how many runs. */
  samples: z.number().int().positive().optional(),
  seed: z.number().int().default(0),
  /** How many runs at once (each a child process). */
  concurrency: z.number().int().positive().default(1),
  /** The validation measure in each run's summary.json (a dotted path into it) and which way is better. */
  metric: z
    .strictObject({ path: z.string().default('best.value'), name: z.string().default('validation'), mode: z.enum(['max', 'min']).default('max') })
    .default({ path: 'best.value', name: 'validation', mode: 'max' }),
  params: z.record(z.string(), Param).refine((p) => Object.keys(p).length > 0, 'name at least one key to vary'),
});
export type SweepConfig = z.output<typeof SweepConfig> & { file: string };
export type Param = z.output<typeof Param>;

/** Reads and validates a sweep file; `base` becomes an absolute path. */
export async function loadSweep(file: string): Promise<SweepConfig> {
  let raw: unknown;
  try {
    raw = YAML.parse(await fsp.readFile(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${file}: cannot read sweep config (${(e as Error).message})`);
  }
  const sweep = parseConfig(SweepConfig, raw, file);
  if (sweep.method === 'random' && !sweep.samples) throw new ConfigError(`${file}: 'samples': a random search needs a number of samples`);
  if (sweep.method === 'grid')
    for (const [k, v] of Object.entries(sweep.params))
      if (!Array.isArray(v)) throw new ConfigError(`${file}: 'params.${k}': a grid needs a list of values, not a range`);
  const base = sweep.base ? path.resolve(path.dirname(file), sweep.base) : undefined;
  return { ...sweep, base, file: path.resolve(file) };
}
