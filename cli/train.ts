import type { CommandModule } from 'yargs';
import { ConfigError } from '../common/errors.js';
import { BACKEND_CHOICES, type BackendChoice } from '../models/engine/choices.js';

// Library modules are imported in the handlers (see cli/eval.ts).

const exportCommand: CommandModule = {
  command: 'export',
  describe: "write a run's best checkpoint as a HuggingFace DistilBERT folder",
  builder: (y) =>
    y
      .option('run', { type: 'string', demandOption: true, describe: 'run folder, e.g. checkpoints/my-run' })
      .option('out', { type: 'string', describe: 'output folder (default <run>/export)' }),
  handler: async (argv) => {
    const [{ initBackend }, { exportRun }] = await Promise.all([import('../models/engine/backend.js'), import('../pipelines/train.js')]);
    // Export reads and writes weights: tfjs's cpu backend is enough, and quiet (no engine line for a copy).
    await initBackend('cpu', { quiet: true });
    const out = await exportRun(argv.run as string, argv.out as string | undefined);
    process.stdout.write(`${out}\n`);
  },
};

/**
 * `margin-mse train plan --config F [--memory 11GiB] [--set k=v ...] [--json]`: the step's memory from a short
 * measured profile (train/memory-plan.ts), and the accumulation_steps that fits the memory (the flag, else
 * run.device_memory). Progress on stderr, the plan on stdout; exit 1 when nothing fits.
 */
const planCommand: CommandModule = {
  command: 'plan',
  describe: "predict a training step's peak memory (weights, Adam, gradients, activations) and the accumulation_steps that fits",
  builder: (y) =>
    y
      .option('config', { type: 'string', describe: 'YAML config (sections run, data, model, train, eval)' })
      .option('set', { type: 'string', array: true, default: [], describe: 'override, e.g. --set train.batch_size=64' })
      .option('memory', { type: 'string', describe: 'device memory to fit, e.g. 11GiB, 11GB, 11000MiB (default run.device_memory)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the plan as JSON' }),
  handler: async (argv) => {
    const [{ loadConfig }, { Config }, { deviceMemory, planForConfig }, { describePlan }, { MEMORY_EXAMPLES, parseMemory }] = await Promise.all([
      import('../common/config.js'),
      import('../pipelines/config.js'),
      import('../pipelines/memory-plan.js'),
      import('../train/memory-plan.js'),
      import('../train/memory-size.js'),
    ]);
    let memory: number | null = null;
    if (argv.memory !== undefined) {
      memory = parseMemory(String(argv.memory));
      if (memory === null) throw new ConfigError(`--memory ${argv.memory}: expected ${MEMORY_EXAMPLES}`);
    }
    const config = await loadConfig(Config, argv.config as string | undefined, (argv.set as string[]) ?? []);
    memory ??= deviceMemory(config);
    const plan = await planForConfig(config, memory, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(argv.json ? `${JSON.stringify(plan, null, 2)}\n` : `${describePlan(plan).join('\n')}\n`);
    if (memory !== null && !plan.choice) process.exitCode = 1;
  },
};

/**
 * `margin-mse train losses --check FILE.json`: the losses' parity check (parity/losses.ts). Every loss the file
 * names is evaluated on its S, T, M; stdout gets our `{key: {value, grad}}` as JSON, stderr the differences per
 * quantity; exit 1 when any is past the tolerances (values 1e-5, gradients 1e-4 relative).
 */
const lossesCommand: CommandModule = {
  command: 'losses',
  describe: 'check the losses against a golden file ({S, T, M, <loss key>: {value, grad}}); print our values as JSON',
  builder: (y) =>
    y
      .option('check', { type: 'string', demandOption: true, describe: 'loss golden, e.g. ../shared/goldens/losses/golden.json' })
      .option('backend', { choices: BACKEND_CHOICES, default: 'cpu' as BackendChoice }),
  handler: async (argv) => {
    const [{ initBackend }, { checkLosses, readLossGolden }, { formatReport }] = await Promise.all([
      import('../models/engine/backend.js'),
      import('../parity/losses.js'),
      import('../parity/reference.js'),
    ]);
    const golden = await readLossGolden(argv.check as string);
    await initBackend(argv.backend as BackendChoice, { quiet: true });
    const check = await checkLosses(golden);
    process.stdout.write(`${JSON.stringify(check.results)}\n`);
    process.stderr.write(formatReport(check));
    if (!check.ok) process.exitCode = 1;
  },
};

/**
 * `margin-mse train --config F [--set k=v ...] [--resume]` trains; `margin-mse train export --run DIR [--out DIR]`
 * exports; `train plan` predicts its memory; `train losses --check FILE.json` checks the losses. The command is thin: it resolves the
 * config and calls pipelines/train.ts.
 */
const command: CommandModule = {
  command: 'train',
  describe: 'train the BERT_Dot student (Margin-MSE); `train plan` predicts its memory; `train export` writes a run as a HF folder',
  builder: (y) =>
    y
      .command(exportCommand)
      .command(planCommand)
      .command(lossesCommand)
      .option('config', { type: 'string', describe: 'YAML config (sections run, data, model, train, eval)' })
      .option('set', { type: 'string', array: true, default: [], describe: 'override, e.g. --set train.lr=1e-5' })
      .option('resume', { type: 'boolean', default: false, describe: "continue the run's latest checkpoint" }),
  handler: async (argv) => {
    const [{ loadConfig }, { Config }, { train }] = await Promise.all([import('../common/config.js'), import('../pipelines/config.js'), import('../pipelines/train.js')]);
    const config = await loadConfig(Config, argv.config as string | undefined, (argv.set as string[]) ?? []);
    const { stop, loopStarted } = stopOnSignals();
    // A run stopped on purpose (NaN/Inf) throws a NonFiniteError: a UserError, one line from cli/main.ts.
    const summary = await train(config, { resume: argv.resume as boolean, sets: (argv.set as string[]) ?? [], command: ['margin-mse', ...process.argv.slice(2)].join(' '), stop, onLoopStart: loopStarted });
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    if (summary.status === 'interrupted') process.exitCode = 130;
  },
};
export default command;

/**
 * Once the loop runs, the first Ctrl-C (SIGINT) or SIGTERM asks it to stop after its current step and save a
 * checkpoint, so `--resume` loses nothing; a second one quits at once (the last periodic checkpoint still
 * stands). During setup (preparing data, loading validation files, which may block on a FIFO) there is no step
 * to finish: a signal ends the process at once (it dies of that signal), having
 * trained nothing.
 */
function stopOnSignals(): { stop: AbortSignal; loopStarted: () => void } {
  const controller = new AbortController();
  let running = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!running) {
      process.stderr.write(`\n${sig}: stopped during setup, before the first step\n`);
      // Die of the signal itself: process.exit() waits for the thread pool, where an open() of a FIFO nobody
      // writes blocks for ever.
      process.removeAllListeners(sig);
      process.kill(process.pid, sig);
      return;
    }
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${sig}: stopping after this step and saving a checkpoint (${sig} again to quit now)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { stop: controller.signal, loopStarted: () => (running = true) };
}
