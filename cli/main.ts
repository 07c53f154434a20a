import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError } from '../config/load.js';
import { InputError } from '../common/errors.js';
import dataCommand from '../data/cli.js';
import evalCommand from '../eval/cli.js';
import modelCommand from '../models/cli.js';
import doctorCommand from '../models/engine/cli.js';
import quickstartCommand from '../quickstart/cli.js';
import sweepCommand from '../sweep/cli.js';
import teachersCommand from '../teachers/cli.js';
import trainCommand from '../train/cli.js';

/**
 * `margin-mse <stage> <command>`: each stage's commands live in its folder's cli.ts, thin entries over
 * library code. Known input and config errors print one clear line and exit 1; anything else is a bug and
 * keeps its stack.
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
