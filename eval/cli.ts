import type { Argv, CommandModule } from 'yargs';
import { loadConfig } from '../config/load.js';
import { readQrels } from '../data/qrels.js';
import { readRun } from '../data/runs.js';
import { EvalConfig } from './config.js';
import { evaluate, formatMeasure, type EvalResult } from './measures.js';
import { pairedTTest } from './significance.js';
import { textTable } from './table.js';

/** `--config` / `--set` give the `eval` section's defaults; explicit flags win. */
const withConfig = (y: Argv): Argv =>
  y
    .option('config', { type: 'string', describe: 'YAML config; its `eval` section gives defaults' })
    .option('set', { type: 'string', array: true, default: [], describe: 'override, e.g. --set eval.bm25.k1=1.2' });

async function evalSection(argv: Record<string, unknown>): Promise<EvalConfig> {
  const { Config } = await import('../config/schema.js');
  return (await loadConfig(Config, argv.config as string | undefined, (argv.set as string[] | undefined) ?? [])).eval;
}

const list = (v: string | string[] | undefined): string[] | undefined =>
  v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);

/** Measures as a table: one row per measure. */
export function metricsTable(result: EvalResult): string {
  return textTable(
    ['measure', 'all', 'queries'],
    Object.entries(result.measures).map(([name, m]) => [name, formatMeasure(m.all), String(Object.keys(m.perQuery).length)]),
  );
}

const metrics: CommandModule = {
  command: 'metrics',
  describe: 'trec_eval measures of a run (every qrels query counts, as -c)',
  builder: (y) =>
    withConfig(y)
      .option('qrels', { type: 'string', demandOption: true })
      .option('run', { type: 'string', demandOption: true, describe: 'TREC or MS MARCO run' })
      .option('min-rel', { type: 'number', default: 1, describe: 'grade that counts as relevant for binary measures (TREC DL: 2)' })
      .option('measures', { type: 'string', describe: 'comma list, e.g. mrr@10,ndcg@10,recall@1000,map' })
      .option('json', { type: 'boolean', default: false, describe: 'print {"measures": {name: {all, perQuery}}}' }),
  handler: async (argv) => {
    const cfg = await evalSection(argv);
    const result = evaluate(await readQrels(argv.qrels as string), await readRun(argv.run as string), {
      measures: list(argv.measures as string | undefined) ?? cfg.measures,
      minRel: argv['min-rel'] as number,
    });
    process.stdout.write(argv.json ? `${JSON.stringify(result)}\n` : `${metricsTable(result)}\n`);
  },
};

const compare: CommandModule = {
  command: 'compare',
  describe: 'measures of two runs on the same qrels with a paired t-test per measure',
  builder: (y) =>
    withConfig(y)
      .option('qrels', { type: 'string', demandOption: true })
      .option('a', { type: 'string', demandOption: true, describe: 'run A (e.g. the model)' })
      .option('b', { type: 'string', demandOption: true, describe: 'run B (e.g. BM25)' })
      .option('min-rel', { type: 'number', default: 1 })
      .option('measures', { type: 'string' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (argv) => {
    const cfg = await evalSection(argv);
    const qrels = await readQrels(argv.qrels as string);
    const opts = { measures: list(argv.measures as string | undefined) ?? cfg.measures, minRel: argv['min-rel'] as number };
    const a = evaluate(qrels, await readRun(argv.a as string), opts);
    const b = evaluate(qrels, await readRun(argv.b as string), opts);
    const rows = Object.keys(a.measures).map((name) => ({
      name,
      a: a.measures[name].all,
      b: b.measures[name].all,
      ...pairedTTest(a.measures[name].perQuery, b.measures[name].perQuery),
    }));
    if (argv.json) {
      process.stdout.write(`${JSON.stringify({ measures: Object.fromEntries(rows.map(({ name, ...r }) => [name, r])) })}\n`);
      return;
    }
    const table = textTable(
      ['measure', 'A', 'B', 'A-B', 't', 'p'],
      rows.map((r) => [r.name, formatMeasure(r.a), formatMeasure(r.b), formatMeasure(r.meanDiff), r.t.toFixed(3), r.p.toPrecision(3)]),
    );
    process.stdout.write(`${table}\n(paired two-sided t-test over ${rows[0]?.n ?? 0} queries)\n`);
  },
};

/** `margin-mse eval <command>`. */
const command: CommandModule = {
  command: 'eval <command>',
  describe: 'eval stage: measures, BM25, re-ranking, encoding, retrieval, report',
  builder: (y) => y.command(metrics).command(compare).demandCommand(1),
  handler: () => {},
};
export default command;
