import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ConfigError, InputError } from '../common/errors.js';
import type { Run } from '../data/runs.js';
import type { EvalConfig, EvalSettings } from '../eval/config.js';
import type { EncodeBatch } from '../eval/embed.js';
import type { EvalResult } from '../eval/measures.js';
import type { Judgments, Mode, ReportEntry } from '../eval/report.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { BACKEND_CHOICES, INFERENCE_CHOICES, type BackendChoice, type InferenceChoice } from '../models/engine/choices.js';
import { NON_NEGATIVE, numberOption, OPEN_UNIT_INTERVAL, POSITIVE_INT, UNIT_INTERVAL } from './flags.js';
import { refuseOverwrite } from './outputs.js';

/*
 * Every library module is imported inside the handler that needs it: `eval metrics` loads the readers and the
 * measures only, never tfjs, vega or the config schema (unless --config/--set is given).
 */

/** `--config` / `--set` give the `eval` section's defaults; explicit flags win. */
const withConfig = (y: Argv): Argv =>
  y
    .option('config', { type: 'string', describe: 'YAML config; its `eval` section gives defaults' })
    .option('set', { type: 'string', array: true, default: [], describe: 'override, e.g. --set eval.bm25.k1=1.2' });

const minRel = () => numberOption('--min-rel', POSITIVE_INT, { default: 1, describe: 'grade that counts as relevant for binary measures (TREC DL: 2)' });

interface ConfigFlags {
  config?: string;
  set?: string[];
}

/** The whole config tree (zod schema loaded here, on first use). */
async function fullConfig(argv: ConfigFlags) {
  const [{ loadConfig }, { Config }] = await Promise.all([import('../common/config.js'), import('../pipelines/config.js')]);
  return loadConfig(Config, argv.config, argv.set ?? []);
}

/** The measure names: `--measures a,b`, else the config's `eval.measures` (the defaults without a config). */
async function measuresOf(argv: ConfigFlags & { measures?: string }, cfg?: EvalConfig): Promise<string[]> {
  const { DEFAULT_MEASURES, parseMeasure } = await import('../eval/measures.js');
  const flag = argv.measures;
  if (flag !== undefined) {
    const names = flag.split(',').map((s) => s.trim()).filter(Boolean);
    if (names.length === 0) throw new InputError('--measures', undefined, 'a comma list of measures like mrr@10,ndcg@10', JSON.stringify(flag));
    for (const name of names) {
      try {
        parseMeasure(name);
      } catch {
        throw new InputError('--measures', undefined, 'names like mrr@10, ndcg@10, recall@1000, p@10, map, map@1000', JSON.stringify(name));
      }
    }
    return names;
  }
  const names = cfg?.measures ?? (argv.config || argv.set?.length ? (await fullConfig(argv)).eval.measures : DEFAULT_MEASURES);
  for (const name of names) {
    try {
      parseMeasure(name);
    } catch (e) {
      throw new ConfigError(`eval.measures: ${(e as Error).message}`);
    }
  }
  return names;
}

/** Measures as a table: one row per measure. */
async function metricsTable(result: EvalResult): Promise<string> {
  const [{ formatMeasure }, { textTable }] = await Promise.all([import('../eval/measures.js'), import('../eval/table.js')]);
  return textTable(
    ['measure', 'all', 'queries'],
    Object.entries(result.measures).map(([name, m]) => [name, formatMeasure(m.all), String(Object.keys(m.perQuery).length)]),
  );
}

interface MetricsArgs extends ConfigFlags {
  qrels: string;
  run: string;
  'min-rel': number;
  measures?: string;
  json: boolean;
}

const metrics: CommandModule<object, MetricsArgs> = {
  command: 'metrics',
  describe: 'trec_eval measures of a run (every qrels query counts, as -c)',
  builder: (y) =>
    withConfig(y)
      .option('qrels', { type: 'string', demandOption: true })
      .option('run', { type: 'string', demandOption: true, describe: 'TREC or MS MARCO run' })
      .option('min-rel', minRel())
      .option('measures', { type: 'string', describe: 'comma list, e.g. mrr@10,ndcg@10,recall@1000,map' })
      .option('json', { type: 'boolean', default: false, describe: 'print {"measures": {name: {all, perQuery}}}' }) as unknown as Argv<MetricsArgs>,
  handler: async (argv) => {
    const [{ readQrels }, { readRun }, { evaluate }, { coverageWarnings }] = await Promise.all([import('../data/qrels.js'), import('../data/runs.js'), import('../eval/measures.js'), import('../eval/coverage.js')]);
    const measures = await measuresOf(argv);
    const [qrels, run] = [await readQrels(argv.qrels), await readRun(argv.run)];
    for (const w of coverageWarnings(qrels, run, { qrels: argv.qrels, run: argv.run })) process.stderr.write(`warning: ${w}\n`);
    const result = evaluate(qrels, run, { measures, minRel: argv['min-rel'] });
    process.stdout.write(argv.json ? `${JSON.stringify(result)}\n` : `${await metricsTable(result)}\n`);
  },
};

interface CompareArgs extends ConfigFlags {
  qrels: string;
  a: string;
  b: string;
  'min-rel': number;
  measures?: string;
  json: boolean;
}

const compare: CommandModule<object, CompareArgs> = {
  command: 'compare',
  describe: 'measures of two runs on the same qrels with a paired t-test per measure',
  builder: (y) =>
    withConfig(y)
      .option('qrels', { type: 'string', demandOption: true })
      .option('a', { type: 'string', demandOption: true, describe: 'run A (e.g. the model)' })
      .option('b', { type: 'string', demandOption: true, describe: 'run B (e.g. BM25)' })
      .option('min-rel', minRel())
      .option('measures', { type: 'string' })
      .option('json', { type: 'boolean', default: false }) as unknown as Argv<CompareArgs>,
  handler: async (argv) => {
    const [{ readQrels }, { readRun }, { evaluate, formatMeasure }, { pairedTTest }, { textTable }, { coverageWarnings }] = await Promise.all([
      import('../data/qrels.js'),
      import('../data/runs.js'),
      import('../eval/measures.js'),
      import('../eval/significance.js'),
      import('../eval/table.js'),
      import('../eval/coverage.js'),
    ]);
    const qrels = await readQrels(argv.qrels);
    const opts = { measures: await measuresOf(argv), minRel: argv['min-rel'] };
    const [runA, runB] = [await readRun(argv.a), await readRun(argv.b)];
    const warnings = [...coverageWarnings(qrels, runA, { qrels: argv.qrels, run: argv.a }), ...coverageWarnings(qrels, runB, { qrels: argv.qrels, run: argv.b })];
    for (const w of new Set(warnings)) process.stderr.write(`warning: ${w}\n`);
    const a = evaluate(qrels, runA, opts);
    const b = evaluate(qrels, runB, opts);
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

interface RunOutArgs extends ConfigFlags {
  out: string;
  tag: string;
  qrels?: string;
  'min-rel': number;
  measures?: string;
}

interface Bm25Args extends RunOutArgs {
  collection: string;
  queries: string;
  k?: number;
  k1?: number;
  b?: number;
}

const bm25: CommandModule<object, Bm25Args> = {
  command: 'bm25',
  describe: 'index a collection with the built-in BM25 and write a top-k TREC run',
  builder: (y) =>
    withConfig(y)
      .option('collection', { type: 'string', demandOption: true, describe: '`pid<TAB>text` file' })
      .option('queries', { type: 'string', demandOption: true, describe: '`qid<TAB>text` file' })
      .option('out', { type: 'string', demandOption: true, describe: 'TREC run to write' })
      .option('k', numberOption('--k', POSITIVE_INT, { describe: 'depth (default eval.bm25.k = 1000)' }))
      .option('k1', numberOption('--k1', NON_NEGATIVE, { describe: 'term frequency saturation (default eval.bm25.k1)' }))
      .option('b', numberOption('--b', UNIT_INTERVAL, { describe: 'length normalization (default eval.bm25.b)' }))
      .option('tag', { type: 'string', default: 'bm25' })
      .option('qrels', { type: 'string', describe: 'also print measures against these qrels' })
      .option('min-rel', minRel()) as unknown as Argv<Bm25Args>,
  handler: async (argv) => {
    await refuseOverwrite(argv.out, { '--collection': argv.collection, '--queries': argv.queries, '--qrels': argv.qrels });
    const [{ Bm25Index }, { loadIdText, readIdText }] = await Promise.all([import('../eval/bm25.js'), import('../data/tsv.js')]);
    const cfg = (await fullConfig(argv)).eval;
    const b = cfg.bm25;
    const params = { k1: argv.k1 ?? b.k1, b: argv.b ?? b.b, stopwords: b.stopwords, stem: b.stem, luceneNorms: b.lucene_norms };
    const index = await Bm25Index.build(readIdText(argv.collection), params);
    process.stderr.write(`bm25: indexed ${index.size} passages\n`);
    await finishRun(argv, cfg, index.searchRun(await loadIdText(argv.queries), argv.k ?? b.k));
  },
};

/** `NAME=FILE` with an optional `@minRel` suffix on FILE. */
function parseQuerySetFlag(v: string): { name: string; qrels: string; minRel?: number } {
  const m = /^([^=]+)=(.+?)(?:@([^@/]*))?$/.exec(v);
  const expected = 'NAME=QRELS_FILE[@MIN_REL] with MIN_REL an integer >= 1';
  if (!m) throw new InputError('--query-set', undefined, expected, JSON.stringify(v));
  if (m[3] !== undefined && !/^[1-9]\d*$/.test(m[3])) throw new InputError('--query-set', undefined, expected, JSON.stringify(v));
  return { name: m[1], qrels: m[2], minRel: m[3] === undefined ? undefined : Number(m[3]) };
}

const MODES: Mode[] = ['bm25', 'rerank', 'retrieval'];

/** `SYSTEM:MODE:QUERYSET=RUN_FILE`. */
function parseRunFlag(v: string): { system: string; mode: Mode; querySet: string; file: string } {
  const m = /^([^:=]+):([^:=]+):([^:=]+)=(.+)$/.exec(v);
  if (!m || !MODES.includes(m[2] as Mode)) throw new InputError('--run', undefined, `SYSTEM:MODE:QUERYSET=RUN_FILE with MODE one of ${MODES.join('|')}`, JSON.stringify(v));
  return { system: m[1], mode: m[2] as Mode, querySet: m[3], file: m[4] };
}

interface ReportArgs extends ConfigFlags {
  out: string;
  'query-set': string[];
  run: string[];
  measures?: string;
  alpha?: number;
}

const report: CommandModule<object, ReportArgs> = {
  command: 'report',
  describe: 'table of systems (BM25 / re-ranking / retrieval) x measures per query set: report.md, report.json, chart',
  builder: (y) =>
    withConfig(y)
      .option('out', { type: 'string', demandOption: true, describe: 'folder for report.md, report.json, report.png/svg' })
      .option('query-set', { type: 'string', array: true, default: [], describe: 'NAME=QRELS[@MIN_REL] (adds to eval.query_sets)' })
      .option('run', { type: 'string', array: true, demandOption: true, describe: 'SYSTEM:MODE:QUERYSET=RUN_FILE, MODE bm25|rerank|retrieval' })
      .option('measures', { type: 'string' })
      .option('alpha', numberOption('--alpha', OPEN_UNIT_INTERVAL, { describe: 'significance level (default eval.alpha)' })) as unknown as Argv<ReportArgs>,
  handler: async (argv) => {
    const querySetFlags = argv['query-set'].map(parseQuerySetFlag);
    const runs = argv.run.map(parseRunFlag);
    const seen = new Set<string>();
    for (const r of runs) {
      const key = `${r.system}:${r.mode}:${r.querySet}`;
      if (seen.has(key)) throw new InputError('--run', undefined, 'each SYSTEM:MODE:QUERYSET once (the rows could not be told apart)', `${key} twice`);
      seen.add(key);
    }
    const cfg = (await fullConfig(argv)).eval;
    const [{ readQrels }, { readRun }, { buildReport, writeReport }] = await Promise.all([import('../data/qrels.js'), import('../data/runs.js'), import('../eval/report.js')]);
    const known = new Set([...cfg.query_sets.map((q) => q.name), ...querySetFlags.map((q) => q.name)]);
    for (const r of runs) {
      if (!known.has(r.querySet)) {
        throw new InputError('--run', undefined, `a query set given by --query-set or eval.query_sets (${[...known].join(', ') || 'none given'})`, `${JSON.stringify(r.querySet)} in ${r.system}:${r.mode}:${r.querySet}`);
      }
    }
    const sets = new Map<string, Judgments>();
    for (const qs of cfg.query_sets) sets.set(qs.name, { qrels: await readQrels(qs.qrels), minRel: qs.min_rel });
    for (const qs of querySetFlags) sets.set(qs.name, { qrels: await readQrels(qs.qrels), minRel: qs.minRel ?? 1 });
    const entries: ReportEntry[] = [];
    for (const r of runs) entries.push({ system: r.system, mode: r.mode, querySet: r.querySet, run: await readRun(r.file) });
    const rep = buildReport(entries, sets, await measuresOf(argv, cfg));
    const out = await writeReport(argv.out, rep, argv.alpha ?? cfg.alpha);
    process.stdout.write(`wrote ${out.md}, ${out.json}, ${out.png}\n`);
  },
};

interface ModelArgs extends RunOutArgs {
  model: string;
  vocab?: string;
  backend?: BackendChoice;
  inference?: InferenceChoice;
  'batch-size'?: number;
}

/** Options shared by the commands that run a student: model folder, vocab, backend. */
const withModel = (y: Argv): Argv =>
  withConfig(y)
    .option('model', { type: 'string', demandOption: true, describe: 'HF DistilBERT folder (config.json, model.safetensors or pytorch_model.bin)' })
    .option('vocab', { type: 'string', describe: 'WordPiece vocab file or bundled name, e.g. bert-base-uncased (default: MODEL/vocab.txt)' })
    .option('backend', { choices: BACKEND_CHOICES, describe: 'tfjs backend (default: run.backend)' })
    .option('inference', { choices: INFERENCE_CHOICES, describe: 'engine that encodes: auto (ONNX Runtime when the backend is wasm or cpu), tfjs, onnx (default: run.inference)' })
    .option('batch-size', numberOption('--batch-size', POSITIVE_INT, { describe: 'texts per encoder call (default from the config)' }));

interface Student {
  cfg: EvalConfig;
  settings: EvalSettings;
  /** The student on the engine --inference / run.inference chose. */
  encode: EncodeBatch;
  tokenizer: Tokenizer;
  close(): Promise<void>;
}

/** The config (its `eval` section and the `data` section's sequence lengths), the student and its tokenizer; prints the engine. */
async function loadStudent(argv: ModelArgs): Promise<Student> {
  const full = await fullConfig(argv);
  const [{ initBackend }, { loadTokenizer }, { loadDistilBert }, { studentEncoder }, { modelVocab }] = await Promise.all([
    import('../models/engine/backend.js'),
    import('../data/tokenizer.js'),
    import('../models/weights/hf.js'),
    import('../eval/embed.js'),
    import('../data/vocab-name.js'),
  ]);
  const dir = argv.model;
  const vocab = modelVocab(dir, argv.vocab); // --vocab takes what data.vocab takes: a file, or a bundled name
  await initBackend(argv.backend ?? full.run.backend);
  const tokenizer = await loadTokenizer(vocab);
  const model = await loadDistilBert(dir);
  const positions = model.config.max_position_embeddings;
  for (const key of ['query_max_length', 'passage_max_length'] as const) {
    if (full.data[key] > positions) {
      model.dispose();
      throw new ConfigError(`data.${key}=${full.data[key]} is longer than the model's max_position_embeddings ${positions} (${path.join(dir, 'config.json')})`);
    }
  }
  const encoder = await studentEncoder(model, argv.inference ?? full.run.inference);
  process.stderr.write(`inference: ${encoder.engine}\n`);
  if (encoder.onnx) model.dispose(); // ONNX Runtime holds its own copy of the weights
  const close = async () => {
    model.dispose();
    await encoder.dispose();
  };
  return { cfg: full.eval, settings: full, encode: encoder.encode, tokenizer, close };
}

/** Writes the run and, given qrels, prints its measures. */
async function finishRun(argv: RunOutArgs, cfg: EvalConfig, run: Run): Promise<void> {
  const { writeRun } = await import('../data/runs.js');
  await writeRun(argv.out, run, argv.tag);
  process.stderr.write(`wrote ${argv.out} (${run.size} queries)\n`);
  if (argv.qrels) {
    const [{ readQrels }, { evaluate }] = await Promise.all([import('../data/qrels.js'), import('../eval/measures.js')]);
    const result = evaluate(await readQrels(argv.qrels), run, { measures: await measuresOf(argv, cfg), minRel: argv['min-rel'] });
    process.stdout.write(`${await metricsTable(result)}\n`);
  }
}

/**
 * The first candidate of `run` that `has` does not know, as an InputError at its line in `file` (the run
 * in memory has no line numbers: the file is read again, only on this error).
 */
async function unknownCandidate(file: string, missing: string, column: 'qid' | 'docno', expected: string, got: string): Promise<InputError> {
  const { readLines } = await import('../common/lines.js');
  for await (const { no, text } of readLines(file)) {
    const cols = text.trim().split(/[ \t]+/);
    const value = column === 'qid' ? cols[0] : cols.length === 3 ? cols[1] : cols[2];
    if (value === missing) return new InputError(file, no, expected, got);
  }
  return new InputError(file, undefined, expected, got);
}

interface RerankArgs extends ModelArgs {
  collection: string;
  queries: string;
  run: string;
  depth?: number;
}

const rerankCmd: CommandModule<object, RerankArgs> = {
  command: 'rerank',
  describe: 're-rank a candidate run (e.g. BM25 top-1000) with a BERT_Dot student; write the run and its measures',
  builder: (y) =>
    withModel(y)
      .option('collection', { type: 'string', demandOption: true, describe: '`pid<TAB>text` (only the candidates are kept in memory)' })
      .option('queries', { type: 'string', demandOption: true })
      .option('run', { type: 'string', demandOption: true, describe: 'candidate run (TREC or MS MARCO)' })
      .option('out', { type: 'string', demandOption: true })
      .option('depth', numberOption('--depth', POSITIVE_INT, { describe: 'candidates per query (default eval.rerank.depth)' }))
      .option('tag', { type: 'string', default: 'rerank' })
      .option('qrels', { type: 'string' })
      .option('min-rel', minRel()) as unknown as Argv<RerankArgs>,
  handler: async (argv) => {
    await refuseOverwrite(argv.out, { '--collection': argv.collection, '--queries': argv.queries, '--run': argv.run, '--qrels': argv.qrels });
    const [{ readRun }, { loadIdText, readIdText }, { progress }, { rerankOptions }, { rerank }] = await Promise.all([
      import('../data/runs.js'),
      import('../data/tsv.js'),
      import('../common/progress.js'),
      import('../eval/config.js'),
      import('../eval/rerank.js'),
    ]);
    const candidates = await readRun(argv.run);
    const queries = await loadIdText(argv.queries);
    const needed = new Set([...candidates.values()].flatMap((docs) => docs.map((d) => d.docno)));
    const passages = new Map<string, string>();
    for await (const { id, text } of readIdText(argv.collection)) if (needed.has(id)) passages.set(id, text);
    const noText = [...candidates.keys()].find((qid) => !queries.has(qid));
    if (noText !== undefined) throw await unknownCandidate(argv.run, noText, 'qid', `queries with a text in ${argv.queries}`, `query ${noText}, which it does not have`);
    const noPassage = [...needed].find((pid) => !passages.has(pid));
    if (noPassage !== undefined) throw await unknownCandidate(argv.run, noPassage, 'docno', `passages of ${argv.collection}`, `passage ${noPassage}, which it does not have`);
    const { settings, encode, tokenizer, close, cfg } = await loadStudent(argv);
    const bar = progress({ label: 'rerank', total: candidates.size, unit: 'queries' });
    const opts = rerankOptions(settings);
    const run = await rerank(encode, tokenizer, queries, passages, candidates, {
      ...opts,
      batchSize: argv['batch-size'] ?? opts.batchSize,
      depth: argv.depth ?? opts.depth,
      onQuery: () => bar.tick(1),
    });
    bar.stop();
    await close();
    await finishRun(argv, cfg, run);
  },
};

/** `i/n` → part i of n. */
function parseShardFlag(v: string | undefined): { part: number; of: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[1]) >= Number(m[2])) throw new InputError('--shard', undefined, 'i/n with 0 <= i < n, e.g. 0/4', JSON.stringify(v));
  return { part: Number(m[1]), of: Number(m[2]) };
}

interface EncodeArgs extends ModelArgs {
  collection: string;
  shard?: string;
  dtype?: 'float32' | 'float16';
  'shard-size'?: number;
}

const encodeCmd: CommandModule<object, EncodeArgs> = {
  command: 'encode',
  describe: 'embed a collection into float32/float16 shards with a manifest (resumable; --shard i/n splits the work)',
  builder: (y) =>
    withModel(y)
      .option('collection', { type: 'string', demandOption: true })
      .option('out', { type: 'string', demandOption: true, describe: 'index folder' })
      .option('shard', { type: 'string', describe: 'i/n: encode only shards with index % n == i' })
      .option('dtype', { choices: ['float32', 'float16'] as const })
      .option('shard-size', numberOption('--shard-size', POSITIVE_INT, { describe: 'passages per shard file (default eval.encode.shard_size)' })) as unknown as Argv<EncodeArgs>,
  handler: async (argv) => {
    const part = parseShardFlag(argv.shard);
    const [{ readIdText }, { encodeOptions }, { encodeCollection, modelIdentity }] = await Promise.all([import('../data/tsv.js'), import('../eval/config.js'), import('../eval/vector-index.js')]);
    const { settings, encode, tokenizer, close } = await loadStudent(argv);
    // The weights' hash, not the folder, identifies the model: shards of weights changed in place are refused.
    const opts = encodeOptions(settings, await modelIdentity(argv.model));
    const manifest = await encodeCollection(encode, tokenizer, readIdText(argv.collection), argv.out, {
      ...opts,
      batchSize: argv['batch-size'] ?? opts.batchSize,
      shardSize: argv['shard-size'] ?? opts.shardSize,
      dtype: argv.dtype ?? opts.dtype,
      part,
      onShard: (info, skipped) => process.stderr.write(`encode: shard ${info.index} (${info.rows} passages) ${skipped ? 'already done' : 'written'}\n`),
    });
    await close();
    process.stdout.write(`${manifest.shards.length}/${manifest.shardCount} shards of ${manifest.rows} passages${manifest.complete ? '' : ' (run the other --shard parts to complete)'}\n`);
  },
};

interface RetrieveArgs extends ModelArgs {
  index: string;
  queries: string;
  k?: number;
}

const retrieveCmd: CommandModule<object, RetrieveArgs> = {
  command: 'retrieve',
  describe: 'exact top-k by inner product over an encoded index; write the run and its measures',
  builder: (y) =>
    withModel(y)
      .option('index', { type: 'string', demandOption: true, describe: 'folder written by eval encode' })
      .option('queries', { type: 'string', demandOption: true })
      .option('out', { type: 'string', demandOption: true })
      .option('k', numberOption('-k', POSITIVE_INT, { describe: 'depth (default eval.retrieve.k)' }))
      .option('tag', { type: 'string', default: 'dense' })
      .option('qrels', { type: 'string' })
      .option('min-rel', minRel()) as unknown as Argv<RetrieveArgs>,
  handler: async (argv) => {
    await refuseOverwrite(argv.out, { '--queries': argv.queries, '--qrels': argv.qrels });
    const [{ loadIdText }, { retrieveOptions }, { retrieve }, { checkSameModel, modelIdentity, readIndexManifest }] = await Promise.all([
      import('../data/tsv.js'),
      import('../eval/config.js'),
      import('../eval/retrieve.js'),
      import('../eval/vector-index.js'),
    ]);
    // A missing or wrong --index, or another model than the index's, is one line before the model loads.
    const manifest = await readIndexManifest(argv.index);
    const model = await modelIdentity(argv.model);
    checkSameModel(path.join(argv.index, 'manifest.json'), manifest.config, model, 'retrieve');
    const queries = await loadIdText(argv.queries);
    const { cfg, settings, encode, tokenizer, close } = await loadStudent(argv);
    const opts = retrieveOptions(settings, model);
    const run = await retrieve(encode, tokenizer, queries, argv.index, {
      ...opts,
      k: argv.k ?? opts.k,
      batchSize: argv['batch-size'] ?? opts.batchSize,
      onShard: (done, total) => process.stderr.write(`retrieve: shard ${done}/${total}\n`),
    });
    await close();
    await finishRun(argv, cfg, run);
  },
};

/** `margin-mse eval <command>`. */
const command: CommandModule = {
  command: 'eval <command>',
  describe: 'eval stage: measures, BM25, re-ranking, encoding, retrieval, report',
  builder: (y) =>
    y
      .command(metrics as unknown as CommandModule)
      .command(compare as unknown as CommandModule)
      .command(bm25 as unknown as CommandModule)
      .command(report as unknown as CommandModule)
      .command(rerankCmd as unknown as CommandModule)
      .command(encodeCmd as unknown as CommandModule)
      .command(retrieveCmd as unknown as CommandModule)
      .demandCommand(1),
  handler: () => {},
};
export default command;
