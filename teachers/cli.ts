import type { Argv, CommandModule } from 'yargs';
import { ensemble, type EnsembleMethod } from './ensemble.js';
import type { AlignMode } from './align.js';
import { SCORE_FORMATS, type ScoreFormat } from './score-file.js';
import { formatStats, writeScoreStats } from './stats.js';

const log = (msg: string) => process.stderr.write(`${msg}\n`);

const alignOption = {
  choices: ['auto', 'strict', 'join'] as const,
  default: 'auto' as const,
  describe: 'strict: same triples in the same order (streamed); join: match by triple (holds all but the first file in memory); auto: strict, else join',
};
const formatOption = { choices: SCORE_FORMATS, describe: 'score file form (default: detected from the first line)' };

interface EnsembleArgs {
  in: string[];
  out: string;
  method: EnsembleMethod;
  weights?: number[];
  align: AlignMode;
  format?: ScoreFormat;
}

const ensembleCommand: CommandModule<object, EnsembleArgs> = {
  command: 'ensemble',
  describe: 'average several teachers\' score files into one (the paper\'s T2 = mean of three BERT_Cat teachers)',
  builder: (y) =>
    y
      .option('in', { type: 'string', array: true, demandOption: true, describe: 'teacher score files' })
      .option('out', { type: 'string', demandOption: true, describe: 'ensemble score file (written atomically)' })
      .option('method', { choices: ['mean', 'weighted'] as const, default: 'mean' as const })
      .option('weights', { type: 'number', array: true, describe: 'one per --in file, for --method weighted (normalized to sum 1)' })
      .option('align', alignOption)
      .option('format', formatOption) as unknown as Argv<EnsembleArgs>,
  handler: async (a) => {
    const s = await ensemble({ inputs: a.in, out: a.out, method: a.method, weights: a.weights, align: a.align, format: a.format, log });
    log(`wrote ${s.rows} ${s.format} lines to ${s.out} (${s.alignment === 'strict' ? 'files aligned' : 'joined by triple'}, weights ${s.weights.map((w) => w.toFixed(4)).join(' ')})`);
  },
};

interface StatsArgs {
  files: string[];
  out: string;
  json: boolean;
  align: AlignMode;
  format?: ScoreFormat;
  sample: number;
}

const statsCommand: CommandModule<object, StatsArgs> = {
  command: 'stats <files..>',
  describe: 'score and margin distributions of teacher score files, agreement between them, margin histogram',
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, demandOption: true })
      .option('out', { type: 'string', default: 'teacher-stats', describe: 'folder for stats.json and margins.svg/png' })
      .option('json', { type: 'boolean', default: false, describe: 'print the JSON instead of the table' })
      .option('align', alignOption)
      .option('format', formatOption)
      .option('sample', { type: 'number', default: 1_000_000, describe: 'rows kept for quantiles and Spearman (exact below)' }) as unknown as Argv<StatsArgs>,
  handler: async (a) => {
    const s = await writeScoreStats(a.files, a.out, { align: a.align, format: a.format, sampleCap: a.sample, log });
    process.stdout.write(`${a.json ? JSON.stringify(s, null, 2) : formatStats(s)}\n`);
    log(`wrote ${a.out}/stats.json and ${s.histogram?.png}`);
  },
};

/** `margin-mse teachers <command>`. */
const command: CommandModule = {
  command: 'teachers <command>',
  describe: 'teacher score files: ensemble, stats, and BERT_Cat scoring',
  builder: (y) => y.command(ensembleCommand).command(statsCommand).demandCommand(1),
  handler: () => {},
};
export default command;
