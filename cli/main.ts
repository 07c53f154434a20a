import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError } from '../common/config.js';
import { InputError } from '../common/errors.js';
import dataCommand from './data.js';
import evalCommand from './eval.js';
import modelCommand from './model.js';
import doctorCommand from './doctor.js';
import quickstartCommand from './quickstart.js';
import sweepCommand from './sweep.js';
import teachersCommand from './teachers.js';
import trainCommand from './train.js';

/**
 * `margin-mse <stage> <command>`: each command group is one thin yargs module in this folder (cli/data.ts,
 * cli/train.ts, ...) over library code in the stages and pipelines/. Known input and config errors print
 * one clear line and exit 1; anything else is a bug and keeps its stack.
 */
await yargs(hideBin(process.argv))
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
  .fail((msg, err, y) => {
    if (err instanceof InputError || err instanceof ConfigError) {
      process.stderr.write(`margin-mse: ${err.message}\n`);
      process.exit(1);
    }
    if (err) throw err;
    process.stderr.write(`${y.help()}\n${msg}\n`);
    process.exit(1);
  })
  .parseAsync();
