import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ROOT } from '../common/paths.js';
import { NON_NEGATIVE_INT, numberOption } from './flags.js';

interface Args {
  config: string;
  out: string;
  seed: number;
  set: string[];
}

/** `margin-mse quickstart` (what `npm start` runs): the whole pipeline on a generated dataset. */
const command: CommandModule<object, Args> = {
  command: 'quickstart',
  describe: 'generate a small MS MARCO-shaped dataset, train a tiny BERT_Dot with Margin-MSE, report it against BM25',
  builder: (y) =>
    y
      .option('config', { type: 'string', default: path.join(ROOT, 'configs', 'quickstart.yaml'), describe: 'run config' })
      .option('out', { type: 'string', default: path.join('checkpoints', 'quickstart'), describe: 'where everything is written' })
      .option('seed', numberOption('--seed', NON_NEGATIVE_INT, { default: 42, describe: 'dataset generator seed' }))
      .option('set', { type: 'string', array: true, default: [], describe: 'config override key.path=value (repeatable)' }) as Argv<Args>,
  handler: async (argv) => {
    const [{ formatSeconds }, { runQuickstart }] = await Promise.all([import('../common/progress.js'), import('../pipelines/quickstart.js')]);
    const r = await runQuickstart({ configFile: argv.config, outDir: argv.out, sets: argv.set, generate: { seed: argv.seed } });
    const verdict = Object.entries(r.beats)
      .map(([m, ok]) => `${m}: ${ok ? 'beats' : 'does NOT beat'} BM25`)
      .join(', ');
    process.stdout.write(`\n${r.markdown}\nThe student ${verdict}.\nWall time ${formatSeconds(r.seconds)}; everything is in ${path.resolve(argv.out)} (report: ${r.files.report}).\n`);
    if (!Object.values(r.beats).every(Boolean)) process.exitCode = 1;
  },
};
export default command;
