import yargs, { type Argv } from 'yargs';
import dataCommand from './data.js';
import doctorCommand from './doctor.js';
import evalCommand from './eval.js';
import { UsageError, usageMessage } from './failure.js';
import modelCommand from './model.js';
import quickstartCommand from './quickstart.js';
import sweepCommand from './sweep.js';
import teachersCommand from './teachers.js';
import trainCommand from './train.js';

/**
 * The `margin-mse` command tree: each command group is one thin yargs module in this folder (cli/data.ts,
 * cli/train.ts, ...) whose handlers import the library code they run, so `--help` and the light commands
 * load no tfjs, vega or Arrow. A refused command line throws UsageError (yargs' message, never the whole
 * help); errors of the handlers propagate to the caller (cli/main.ts prints them).
 */
export function cli(args: string[]): Argv {
  return yargs(args)
    .scriptName('margin-mse')
    .command(dataCommand)
    .command(modelCommand)
    .command(doctorCommand)
    .command(trainCommand)
    .command(evalCommand)
    .command(teachersCommand)
    .command(sweepCommand)
    .command(quickstartCommand)
    .demandCommand(1, 'name a stage: data, model, doctor, train, eval, teachers, sweep, quickstart')
    .strict()
    .help()
    .fail((msg, err) => {
      if (msg) throw new UsageError(`${usageMessage(msg)} (see ${helpCommand(args)})`);
      throw err;
    });
}

/** `margin-mse eval metrics --help` for the command named in `args`. */
function helpCommand(args: string[]): string {
  const words: string[] = [];
  for (const a of args) {
    if (a.startsWith('-') || words.length === 2) break;
    words.push(a);
  }
  return ['margin-mse', ...words, '--help'].join(' ');
}
