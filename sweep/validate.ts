import { ConfigError, loadConfig } from '../common/config.js';
import { Config } from '../pipelines/config.js';
import type { SweepConfig } from './config.js';
import type { PlannedRun } from './runs.js';

/**
 * Every planned run's config (the base with the sweep's `set` and the run's values), validated as
 * `margin-mse train` will: `sweep run` checks before launching anything and `sweep plan` before printing, so
 * a typo fails once, at once, and not in every scheduled job. A mistake is blamed on the sweep file (where the
 * keys and values were written), naming the run and the base it was applied to.
 */
export async function validateRuns(sweep: SweepConfig, runs: PlannedRun[]): Promise<Config[]> {
  const configs: Config[] = [];
  for (const run of runs) {
    try {
      configs.push(await loadConfig(Config, sweep.base, run.sets));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // loadConfig names its source (`base.yaml: …`, or `(flags): …` without a base): here the sweep file is.
      const source = sweep.base ?? '(flags)';
      const what = e.message.startsWith(`${source}: `) ? e.message.slice(source.length + 2) : e.message;
      const base = sweep.base ? `on base ${sweep.base}` : 'without a base';
      throw new ConfigError(`${sweep.file}: run ${run.name} (its set and params ${base}): ${what.replace(/^--set /, 'set ')}`);
    }
  }
  return configs;
}
