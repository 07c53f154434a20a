import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import type { SweepEvent } from '../sweep/runner.js';
import { numberOption, POSITIVE_INT } from './flags.js';

// Library modules are imported in the handlers (see cli/eval.ts).

interface Args {
  config: string;
  concurrency?: number;
  pending?: boolean;
}

const withConfig = (y: Argv) =>
  y.option('config', { type: 'string', demandOption: true, describe: 'sweep file (configs/sweeps/*.yaml)' });

const log = (e: SweepEvent) => {
  const msg =
    e.type === 'skip'
      ? `skip ${e.run} (${e.reason})`
      : e.type === 'start'
        ? `start ${e.run} (pid ${e.pid})`
        : e.type === 'prepare'
          ? `data cache ${e.cacheDir} ${e.reused ? 'up to date' : 'built'}`
        : e.type === 'wait'
          ? `wait ${e.run}: still running from an earlier sweep (pid ${e.pid})`
          : `${e.code === 0 ? 'done' : e.signal ? `stopped (${e.signal})` : `FAILED (exit ${e.code})`} ${e.run} in ${e.seconds.toFixed(0)} s`;
  process.stderr.write(`sweep: ${msg}\n`);
};

const run: CommandModule<object, Args> = {
  command: ['run', '$0'],
  describe: 'run every pending run of the sweep (child processes, p-queue), then summarize',
  builder: (y) => withConfig(y).option('concurrency', numberOption('--concurrency', POSITIVE_INT, { describe: 'runs at once (overrides the file)' })) as Argv<Args>,
  handler: async (argv) => {
    const [{ loadSweep }, { runSweep }] = await Promise.all([import('../sweep/config.js'), import('../sweep/runner.js')]);
    const sweep = await loadSweep(argv.config);
    const controller = new AbortController();
    const stop = () => {
      process.stderr.write('sweep: interrupted, stopping the running runs (restart to resume)\n');
      controller.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const res = await runSweep(sweep, { concurrency: argv.concurrency, signal: controller.signal, onEvent: log });
    if (res.interrupted) process.exit(130);
    process.stderr.write(`sweep: ${res.ran} ran (${res.failed} failed), ${res.skipped} already complete\n`);
    if (res.summary) process.stdout.write(`${readFileSync(res.summary.files.markdown, 'utf8')}\n`);
    const missing = res.summary && (await import('../sweep/summary.js')).missingMetric(sweep, res.summary.rows);
    if (missing) process.stderr.write(`sweep: warning: ${missing}, then run sweep summarize\n`);
    if (res.failed > 0) process.exitCode = 1;
  },
};

const plan: CommandModule<object, Args> = {
  command: 'plan',
  describe: 'print one self-contained shell command per run (Slurm array task N = line N)',
  builder: (y) => withConfig(y).option('pending', { type: 'boolean', default: false, describe: 'only runs without summary.json' }) as Argv<Args>,
  handler: async (argv) => {
    const [{ loadSweep }, { isDone, planCommands, planRuns }, { validateRuns }] = await Promise.all([import('../sweep/config.js'), import('../sweep/runs.js'), import('../sweep/validate.js')]);
    const sweep = await loadSweep(argv.config);
    let runs = planRuns(sweep);
    await validateRuns(sweep, runs); // as sweep run does: a scheduler must not get a command that cannot start
    if (argv.pending) runs = (await Promise.all(runs.map(async (r) => ((await isDone(r)) ? null : r)))).filter((r) => r !== null);
    for (const line of planCommands(sweep, runs)) process.stdout.write(`${line}\n`);
  },
};

const summarize: CommandModule<object, Args> = {
  command: 'summarize',
  describe: 'collect the runs results into summary.md / .csv / .json and a chart',
  builder: (y) => withConfig(y) as Argv<Args>,
  handler: async (argv) => {
    const [{ loadSweep }, { missingMetric, writeSummary }, { ConfigError }] = await Promise.all([import('../sweep/config.js'), import('../sweep/summary.js'), import('../common/errors.js')]);
    const sweep = await loadSweep(argv.config);
    const s = await writeSummary(sweep);
    const missing = missingMetric(sweep, s.rows);
    if (missing) throw new ConfigError(missing); // the table would only say no-metric for every run
    process.stdout.write(`${readFileSync(s.files.markdown, 'utf8')}\n`);
    process.stderr.write(`sweep: wrote ${Object.values(s.files).join(', ')}\n`);
  },
};

/** `margin-mse sweep [run|plan|summarize] --config configs/sweeps/FILE.yaml`. */
const command: CommandModule = {
  command: 'sweep',
  describe: 'grid or random search over config keys: run, plan (for schedulers), summarize',
  builder: (y) => y.command(run).command(plan).command(summarize),
  handler: () => {},
};
export default command;
