import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ConfigError, loadConfig } from '../common/config.js';
import { Config } from '../pipelines/config.js';
import { InputError } from '../common/errors.js';
import { progress } from '../common/progress.js';
import { readQrels } from '../data/qrels.js';
import { readRun, writeRun, type Run } from '../data/runs.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { loadIdText, readIdText } from '../data/tsv.js';
import { initBackend, type BackendChoice } from '../models/engine/backend.js';
import { INFERENCE_CHOICES, type InferenceChoice } from '../models/engine/inference.js';
import { loadDistilBert } from '../models/weights/hf.js';
import { Bm25Index } from '../eval/bm25.js';
import { encodeOptions, rerankOptions, retrieveOptions, type EvalConfig, type EvalSettings } from '../eval/config.js';
import { studentEncoder, type EncodeBatch } from '../eval/embed.js';
import { encodeCollection } from '../eval/vector-index.js';
import { evaluate, formatMeasure, parseMeasure, type EvalResult } from '../eval/measures.js';
import { buildReport, writeReport, type Judgments, type Mode, type ReportEntry } from '../eval/report.js';
import { rerank } from '../eval/rerank.js';
import { retrieve } from '../eval/retrieve.js';
import { pairedTTest } from '../eval/significance.js';
import { textTable } from '../eval/table.js';

/** `--config` / `--set` give the `eval` section's defaults; explicit flags win. */
const withConfig = (y: Argv): Argv =>
  y
    .option('config', { type: 'string', describe: 'YAML config; its `eval` section gives defaults' })
    .option('set', { type: 'string', array: true, default: [], describe: 'override, e.g. --set eval.bm25.k1=1.2' });

async function evalSection(argv: Record<string, unknown>): Promise<EvalConfig> {
  return (await loadConfig(Config, argv.config as string | undefined, (argv.set as string[] | undefined) ?? [])).eval;
}

/** `--measures a,b` or else the config's `eval.measures`, each checked so a typo is a one-line user error. */
function measuresOf(argv: Record<string, unknown>, cfg: EvalConfig): string[] {
  const flag = argv.measures as string | undefined;
  const names = flag === undefined ? cfg.measures : flag.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    try {
      parseMeasure(name);
    } catch (e) {
      if (flag === undefined) throw new ConfigError(`eval.measures: ${(e as Error).message}`);
      throw new InputError('--measures', undefined, 'names like mrr@10, ndcg@10, recall@1000, p@10, map, map@1000', JSON.stringify(name));
    }
  }
  return names;
}

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
      measures: measuresOf(argv, cfg),
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
    const opts = { measures: measuresOf(argv, cfg), minRel: argv['min-rel'] as number };
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

const bm25: CommandModule = {
  command: 'bm25',
  describe: 'index a collection with the built-in BM25 and write a top-k TREC run',
  builder: (y) =>
    withConfig(y)
      .option('collection', { type: 'string', demandOption: true, describe: '`pid<TAB>text` file' })
      .option('queries', { type: 'string', demandOption: true, describe: '`qid<TAB>text` file' })
      .option('out', { type: 'string', demandOption: true, describe: 'TREC run to write' })
      .option('k', { type: 'number', describe: 'depth (default eval.bm25.k = 1000)' })
      .option('k1', { type: 'number' })
      .option('b', { type: 'number' })
      .option('tag', { type: 'string', default: 'bm25' })
      .option('qrels', { type: 'string', describe: 'also print measures against these qrels' })
      .option('min-rel', { type: 'number', default: 1 }),
  handler: async (argv) => {
    const cfg = await evalSection(argv);
    const b = cfg.bm25;
    const params = { k1: (argv.k1 as number | undefined) ?? b.k1, b: (argv.b as number | undefined) ?? b.b, stopwords: b.stopwords, stem: b.stem, luceneNorms: b.lucene_norms };
    const index = await Bm25Index.build(readIdText(argv.collection as string), params);
    process.stderr.write(`bm25: indexed ${index.size} passages\n`);
    await finishRun(argv, cfg, index.searchRun(await loadIdText(argv.queries as string), (argv.k as number | undefined) ?? b.k), argv.tag as string);
  },
};

/** `NAME=FILE` with an optional `@minRel` suffix on FILE. */
function parseQuerySetFlag(v: string): { name: string; qrels: string; minRel?: number } {
  const m = /^([^=]+)=(.+?)(?:@(\d+))?$/.exec(v);
  if (!m) throw new InputError('--query-set', undefined, 'NAME=QRELS_FILE[@MIN_REL]', JSON.stringify(v));
  return { name: m[1], qrels: m[2], minRel: m[3] === undefined ? undefined : Number(m[3]) };
}

const MODES: Mode[] = ['bm25', 'rerank', 'retrieval'];

/** `SYSTEM:MODE:QUERYSET=RUN_FILE`. */
function parseRunFlag(v: string): { system: string; mode: Mode; querySet: string; file: string } {
  const m = /^([^:=]+):([^:=]+):([^:=]+)=(.+)$/.exec(v);
  if (!m || !MODES.includes(m[2] as Mode)) throw new InputError('--run', undefined, `SYSTEM:MODE:QUERYSET=RUN_FILE with MODE one of ${MODES.join('|')}`, JSON.stringify(v));
  return { system: m[1], mode: m[2] as Mode, querySet: m[3], file: m[4] };
}

const report: CommandModule = {
  command: 'report',
  describe: 'table of systems (BM25 / re-ranking / retrieval) x measures per query set: report.md, report.json, chart',
  builder: (y) =>
    withConfig(y)
      .option('out', { type: 'string', demandOption: true, describe: 'folder for report.md, report.json, report.png/svg' })
      .option('query-set', { type: 'string', array: true, default: [], describe: 'NAME=QRELS[@MIN_REL] (adds to eval.query_sets)' })
      .option('run', { type: 'string', array: true, demandOption: true, describe: 'SYSTEM:MODE:QUERYSET=RUN_FILE, MODE bm25|rerank|retrieval' })
      .option('measures', { type: 'string' })
      .option('alpha', { type: 'number', describe: 'significance level (default eval.alpha)' }),
  handler: async (argv) => {
    const cfg = await evalSection(argv);
    const sets = new Map<string, Judgments>();
    for (const qs of cfg.query_sets) sets.set(qs.name, { qrels: await readQrels(qs.qrels), minRel: qs.min_rel });
    for (const flag of argv['query-set'] as string[]) {
      const qs = parseQuerySetFlag(flag);
      sets.set(qs.name, { qrels: await readQrels(qs.qrels), minRel: qs.minRel ?? 1 });
    }
    const entries: ReportEntry[] = [];
    for (const flag of argv.run as string[]) {
      const r = parseRunFlag(flag);
      entries.push({ system: r.system, mode: r.mode, querySet: r.querySet, run: await readRun(r.file) });
    }
    const alpha = (argv.alpha as number | undefined) ?? cfg.alpha;
    const rep = buildReport(entries, sets, measuresOf(argv, cfg));
    const out = await writeReport(argv.out as string, rep, alpha);
    process.stdout.write(`wrote ${out.md}, ${out.json}, ${out.png}\n`);
  },
};

/** Options shared by the commands that run a student: model folder, vocab, backend. */
const withModel = (y: Argv): Argv =>
  withConfig(y)
    .option('model', { type: 'string', demandOption: true, describe: 'HF DistilBERT folder (config.json, model.safetensors or pytorch_model.bin)' })
    .option('vocab', { type: 'string', describe: 'WordPiece vocab (default: MODEL/vocab.txt)' })
    .option('backend', { type: 'string', describe: 'auto|tensorflow|webgpu|wasm|cpu (default: run.backend)' })
    .option('inference', { choices: INFERENCE_CHOICES, describe: 'engine that encodes: auto (ONNX Runtime when the backend is wasm or cpu), tfjs, onnx (default: run.inference)' })
    .option('batch-size', { type: 'number' });

interface Student {
  cfg: EvalConfig;
  settings: EvalSettings;
  /** The student on the engine --inference / run.inference chose. */
  encode: EncodeBatch;
  tokenizer: Awaited<ReturnType<typeof loadTokenizer>>;
  close(): Promise<void>;
}

/** The config (its `eval` section and the `data` section's sequence lengths), the student and its tokenizer; prints the engine. */
async function loadStudent(argv: Record<string, unknown>): Promise<Student> {
  const full = await loadConfig(Config, argv.config as string | undefined, (argv.set as string[] | undefined) ?? []);
  await initBackend(((argv.backend as string | undefined) ?? full.run.backend) as BackendChoice);
  const dir = argv.model as string;
  const tokenizer = await loadTokenizer((argv.vocab as string | undefined) ?? path.join(dir, 'vocab.txt'));
  const model = await loadDistilBert(dir);
  const encoder = await studentEncoder(model, ((argv.inference as InferenceChoice | undefined) ?? full.run.inference));
  process.stderr.write(`inference: ${encoder.engine}\n`);
  if (encoder.onnx) model.dispose(); // ONNX Runtime holds its own copy of the weights
  const close = async () => {
    model.dispose();
    await encoder.dispose();
  };
  return { cfg: full.eval, settings: full, encode: encoder.encode, tokenizer, close };
}

/** Writes the run and, given qrels, prints its measures. */
async function finishRun(argv: Record<string, unknown>, cfg: EvalConfig, run: Run, tag: string): Promise<void> {
  await writeRun(argv.out as string, run, tag);
  process.stderr.write(`wrote ${argv.out as string} (${run.size} queries)\n`);
  if (argv.qrels) {
    const result = evaluate(await readQrels(argv.qrels as string), run, { measures: measuresOf(argv, cfg), minRel: argv['min-rel'] as number });
    process.stdout.write(`${metricsTable(result)}\n`);
  }
}

const rerankCmd: CommandModule = {
  command: 'rerank',
  describe: "re-rank a candidate run (e.g. BM25 top-1000) with a BERT_Dot student; write the run and its measures",
  builder: (y) =>
    withModel(y)
      .option('collection', { type: 'string', demandOption: true, describe: '`pid<TAB>text` (only the candidates are kept in memory)' })
      .option('queries', { type: 'string', demandOption: true })
      .option('run', { type: 'string', demandOption: true, describe: 'candidate run (TREC or MS MARCO)' })
      .option('out', { type: 'string', demandOption: true })
      .option('depth', { type: 'number', describe: 'candidates per query (default eval.rerank.depth)' })
      .option('tag', { type: 'string', default: 'rerank' })
      .option('qrels', { type: 'string' })
      .option('min-rel', { type: 'number', default: 1 }),
  handler: async (argv) => {
    const { cfg, settings, encode, tokenizer, close } = await loadStudent(argv);
    const candidates = await readRun(argv.run as string);
    const needed = new Set([...candidates.values()].flatMap((docs) => docs.map((d) => d.docno)));
    const passages = new Map<string, string>();
    for await (const { id, text } of readIdText(argv.collection as string)) if (needed.has(id)) passages.set(id, text);
    const bar = progress({ label: 'rerank', total: candidates.size, unit: 'queries' });
    const opts = rerankOptions(settings);
    const run = await rerank(encode, tokenizer, await loadIdText(argv.queries as string), passages, candidates, {
      ...opts,
      batchSize: (argv['batch-size'] as number | undefined) ?? opts.batchSize,
      depth: (argv.depth as number | undefined) ?? opts.depth,
      onQuery: () => bar.tick(1),
    });
    bar.stop();
    await close();
    await finishRun(argv, cfg, run, argv.tag as string);
  },
};

/** `i/n` → part i of n. */
function parseShardFlag(v: string | undefined): { part: number; of: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[1]) >= Number(m[2])) throw new InputError('--shard', undefined, 'i/n with 0 <= i < n, e.g. 0/4', JSON.stringify(v));
  return { part: Number(m[1]), of: Number(m[2]) };
}

const encodeCmd: CommandModule = {
  command: 'encode',
  describe: 'embed a collection into float32/float16 shards with a manifest (resumable; --shard i/n splits the work)',
  builder: (y) =>
    withModel(y)
      .option('collection', { type: 'string', demandOption: true })
      .option('out', { type: 'string', demandOption: true, describe: 'index folder' })
      .option('shard', { type: 'string', describe: 'i/n: encode only shards with index % n == i' })
      .option('dtype', { type: 'string', choices: ['float32', 'float16'] })
      .option('shard-size', { type: 'number' }),
  handler: async (argv) => {
    const { settings, encode, tokenizer, close } = await loadStudent(argv);
    const opts = encodeOptions(settings, path.resolve(argv.model as string));
    const manifest = await encodeCollection(encode, tokenizer, readIdText(argv.collection as string), argv.out as string, {
      ...opts,
      batchSize: (argv['batch-size'] as number | undefined) ?? opts.batchSize,
      shardSize: (argv['shard-size'] as number | undefined) ?? opts.shardSize,
      dtype: ((argv.dtype as string | undefined) ?? opts.dtype) as 'float32' | 'float16',
      part: parseShardFlag(argv.shard as string | undefined),
      onShard: (info, skipped) => process.stderr.write(`encode: shard ${info.index} (${info.rows} passages) ${skipped ? 'already done' : 'written'}\n`),
    });
    await close();
    process.stdout.write(`${manifest.shards.length}/${manifest.shardCount} shards of ${manifest.rows} passages${manifest.complete ? '' : ' (run the other --shard parts to complete)'}\n`);
  },
};

const retrieveCmd: CommandModule = {
  command: 'retrieve',
  describe: 'exact top-k by inner product over an encoded index; write the run and its measures',
  builder: (y) =>
    withModel(y)
      .option('index', { type: 'string', demandOption: true, describe: 'folder written by eval encode' })
      .option('queries', { type: 'string', demandOption: true })
      .option('out', { type: 'string', demandOption: true })
      .option('k', { type: 'number' })
      .option('tag', { type: 'string', default: 'dense' })
      .option('qrels', { type: 'string' })
      .option('min-rel', { type: 'number', default: 1 }),
  handler: async (argv) => {
    const { cfg, settings, encode, tokenizer, close } = await loadStudent(argv);
    const opts = retrieveOptions(settings);
    const run = await retrieve(encode, tokenizer, await loadIdText(argv.queries as string), argv.index as string, {
      ...opts,
      k: (argv.k as number | undefined) ?? opts.k,
      batchSize: (argv['batch-size'] as number | undefined) ?? opts.batchSize,
      onShard: (done, total) => process.stderr.write(`retrieve: shard ${done}/${total}\n`),
    });
    await close();
    await finishRun(argv, cfg, run, argv.tag as string);
  },
};

/** `margin-mse eval <command>`. */
const command: CommandModule = {
  command: 'eval <command>',
  describe: 'eval stage: measures, BM25, re-ranking, encoding, retrieval, report',
  builder: (y) => y.command(metrics).command(compare).command(bm25).command(report).command(rerankCmd).command(encodeCmd).command(retrieveCmd).demandCommand(1),
  handler: () => {},
};
export default command;
