import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../common/errors.js';
import type { EnsembleMethod } from '../teachers/ensemble.js';
import type { AlignMode } from '../teachers/align.js';
import { SCORE_FORMATS, type ScoreFormat } from '../teachers/score-file.js';
import type { TripleInput } from '../teachers/score.js';
import { BACKEND_CHOICES, INFERENCE_CHOICES, type BackendChoice, type InferenceChoice } from '../models/engine/choices.js';
import { atLeast, NON_NEGATIVE, NON_NEGATIVE_INT, numberListOption, numberOption, POSITIVE_INT } from './flags.js';

// Library modules are imported in the handlers (see cli/eval.ts).

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
      .option('weights', numberListOption('--weights', NON_NEGATIVE, { describe: 'one per --in file, for --method weighted (normalized to sum 1)' }))
      .option('align', alignOption)
      .option('format', formatOption) as unknown as Argv<EnsembleArgs>,
  handler: async (a) => {
    const { ensemble } = await import('../teachers/ensemble.js');
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
      .option('sample', numberOption('--sample', POSITIVE_INT, { default: 1_000_000, describe: 'rows kept for quantiles and Spearman (exact below)' })) as unknown as Argv<StatsArgs>,
  handler: async (a) => {
    const { formatStats, writeScoreStats } = await import('../teachers/stats.js');
    const s = await writeScoreStats(a.files, a.out, { align: a.align, format: a.format, sampleCap: a.sample, log });
    process.stdout.write(`${a.json ? JSON.stringify(s, null, 2) : formatStats(s)}\n`);
    log(`wrote ${a.out}/stats.json and ${s.histogram?.png}`);
  },
};

interface ScoreArgs {
  model: string;
  triples?: string;
  run?: string;
  depth?: number;
  out: string;
  input?: TripleInput;
  collection?: string;
  queries?: string;
  vocab?: string;
  'batch-size': number;
  'max-length': number;
  chunk: number;
  limit?: number;
  backend: BackendChoice;
  inference: InferenceChoice;
}

const scoreCommand: CommandModule<object, ScoreArgs> = {
  command: 'score',
  describe: 'score triples with a BERT_Cat cross-encoder into a teacher score file (resumable), or a candidate run into a teacher run (--run)',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'folder with config.json, model.safetensors or pytorch_model.bin (HF or matchmaker BERT_Cat), vocab.txt' })
      .option('triples', { type: 'string', describe: 'qid<TAB>pos_pid<TAB>neg_pid or query<TAB>positive<TAB>negative' })
      .option('run', { type: 'string', describe: 'instead of --triples: a candidate run (e.g. BM25 top 100) to re-score into a TREC teacher run (data.groups)' })
      .option('depth', numberOption('--depth', POSITIVE_INT, { describe: 'with --run: passages per query to score (default: all)' }))
      .option('out', { type: 'string', demandOption: true, describe: 'score file (an existing one from the same settings is resumed), or with --run the teacher run' })
      .option('input', { choices: ['ids', 'text'] as const, describe: 'triple form (default: detected)' })
      .option('collection', { type: 'string', describe: 'pid<TAB>passage, for id triples' })
      .option('queries', { type: 'string', describe: 'qid<TAB>query, for id triples' })
      .option('vocab', { type: 'string', describe: 'WordPiece vocab file or bundled name, e.g. bert-base-uncased (default <model>/vocab.txt)' })
      .option('batch-size', numberOption('--batch-size', POSITIVE_INT, { default: 32, describe: 'triples per batch (2x pairs)' }))
      .option('max-length', numberOption('--max-length', atLeast(3), { default: 512, describe: 'tokens per [CLS] q [SEP] p [SEP] pair' }))
      .option('chunk', numberOption('--chunk', NON_NEGATIVE_INT, { default: 16, describe: 'pairs per forward pass after sorting by length (0: pad the batch to its longest pair)' }))
      .option('limit', numberOption('--limit', POSITIVE_INT, { describe: 'score only the first N triples' }))
      .option('backend', { choices: BACKEND_CHOICES, default: 'auto' as const })
      .option('inference', { choices: INFERENCE_CHOICES, default: 'auto' as const, describe: 'engine that scores: auto (ONNX Runtime when the backend is wasm or cpu), tfjs, onnx' }) as unknown as Argv<ScoreArgs>,
  handler: async (a) => {
    if ((a.triples === undefined) === (a.run === undefined)) throw new ConfigError('teachers score: give --triples (a teacher score file) or --run (a teacher run), not both');
    if (a.run !== undefined && (!a.queries || !a.collection)) throw new ConfigError('teachers score --run: give --queries and --collection');
    const [{ initBackend }, { scoreTriples }, { scoreRun }] = await Promise.all([import('../models/engine/backend.js'), import('../teachers/score.js'), import('../teachers/score-run.js')]);
    await initBackend(a.backend);
    if (a.run !== undefined) {
      const r = await scoreRun({
        model: a.model, run: a.run, queries: a.queries!, collection: a.collection!, out: a.out, depth: a.depth, vocab: a.vocab,
        batchSize: 2 * a['batch-size'], maxLength: a['max-length'], chunk: a.chunk, inference: a.inference, log,
      });
      log(`scored ${r.pairs} pairs of ${r.queries} queries in ${r.seconds.toFixed(1)} s; wrote ${r.out}`);
      return;
    }
    const s = await scoreTriples({
      model: a.model,
      triples: a.triples!,
      out: a.out,
      input: a.input,
      collection: a.collection,
      queries: a.queries,
      vocab: a.vocab,
      batchSize: a['batch-size'],
      maxLength: a['max-length'],
      chunk: a.chunk,
      limit: a.limit,
      inference: a.inference,
      log,
    });
    const resumed = s.resumed > 0 ? ` (resumed after ${s.resumed} lines${s.truncated > 0 ? `, cut a torn line of ${s.truncated} bytes` : ''})` : '';
    log(`scored ${s.scored} triples in ${s.seconds.toFixed(1)} s (${((2 * s.scored) / Math.max(s.scoreSeconds, 1e-9)).toFixed(1)} pairs/s in the model); ${s.out} has ${s.lines} lines${resumed}`);
  },
};

/** `margin-mse teachers <command>`. */
const command: CommandModule = {
  command: 'teachers <command>',
  describe: 'teacher score files: ensemble, stats, and BERT_Cat scoring',
  builder: (y) => y.command(ensembleCommand).command(statsCommand).command(scoreCommand).demandCommand(1),
  handler: () => {},
};
export default command;
