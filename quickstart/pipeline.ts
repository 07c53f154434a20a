import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { formatSeconds } from '../common/progress.js';
import { loadConfig } from '../config/load.js';
import { Config } from '../config/schema.js';
import { openBatches } from '../data/batcher.js';
import { readQrels } from '../data/qrels.js';
import { readRun, writeRun, type Run } from '../data/runs.js';
import { prepare } from '../data/prepare.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { loadIdText, readIdText } from '../data/tsv.js';
import { resolveVocab } from '../data/config.js';
import { embedTexts } from '../eval/embed.js';
import { encodeCollection } from '../eval/encode.js';
import { evaluate } from '../eval/measures.js';
import { buildReport, reportMarkdown, writeReport, type Report } from '../eval/report.js';
import { rerank } from '../eval/rerank.js';
import { retrieve } from '../eval/retrieve.js';
import { bertDotScores } from '../models/bert-dot.js';
import { DistilBert, type DistilBertConfig } from '../models/distilbert.js';
import { loadDistilBert } from '../models/hf.js';
import { initBackend } from '../models/engine/backend.js';
import { runLoop, type TrainSummary } from '../train/loop.js';
import { DEFAULT_GENERATE, type DatasetFiles, type GenerateOptions } from './generate.js';
import { ensureDataset } from './dataset.js';

/** The quickstart's student when the config does not size one: 2 layers, dim 64 (minutes on one CPU core). */
export const TINY_STUDENT: Partial<DistilBertConfig> = { dim: 64, n_layers: 2, n_heads: 2, hidden_dim: 256, max_position_embeddings: 64 };

export interface QuickstartOptions {
  /** The run config (configs/quickstart.yaml); its data paths are replaced by the generated dataset's. */
  configFile: string;
  sets?: string[];
  /** Everything goes here (default checkpoints/quickstart). */
  outDir: string;
  generate?: Partial<GenerateOptions>;
  log?: (msg: string) => void;
}

export interface QuickstartResult {
  report: Report;
  markdown: string;
  seconds: number;
  train: TrainSummary;
  /** Whether the student (re-ranking and retrieval) beats BM25 on each measure. */
  beats: Record<string, boolean>;
  files: { report: string; runDir: string };
}

/** Overrides that point a run config at the generated dataset under `outDir`. */
export function datasetSets(outDir: string, f: DatasetFiles): string[] {
  return [
    `data.collection=${f.collection}`,
    `data.queries=${f.queriesTrain}`,
    `data.triples=${f.trainScores}`,
    'data.triples_format=ids-scores',
    `data.cache_dir=${path.join(outDir, 'cache')}`,
    `train.validation.queries=${f.queriesVal}`,
    `train.validation.qrels=${f.qrelsVal}`,
    `train.validation.candidates=${f.bm25Val}`,
    `train.validation.collection=${f.collection}`,
    `run.out_dir=${outDir}`,
    'run.name=student',
  ];
}

/**
 * The whole pipeline on the generated dataset: generate → prepare (tokenized Arrow cache) → train a tiny
 * BERT_Dot with Margin-MSE against the generated teacher scores, validating on the `val` queries and keeping
 * best/ → re-rank the dev BM25 candidates and retrieve from the encoded collection → the report against
 * BM25. Every stage writes under `outDir`.
 */
export async function runQuickstart(o: QuickstartOptions): Promise<QuickstartResult> {
  const t0 = Date.now();
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const stage = (n: number, what: string) => log(`\nquickstart [${n}/5] ${what} (${formatSeconds((Date.now() - t0) / 1000)} elapsed)`);
  const outDir = path.resolve(o.outDir);

  stage(1, 'generate the dataset');
  const gen = { ...DEFAULT_GENERATE, ...o.generate };
  const { files: f, reused } = await ensureDataset(path.join(outDir, 'data'), gen);
  log(`  ${reused ? 'reused' : 'wrote'} ${f.dir} (seed ${gen.seed})`);

  const config = await loadConfig(Config, o.configFile, [...datasetSets(outDir, f), ...(o.sets ?? [])]);
  const backend = await initBackend(config.run.backend);

  stage(2, 'prepare: tokenize into the Arrow cache');
  const prep = await prepare(config.data);
  log(`  ${prep.reused ? 'reused' : 'built'} ${prep.cacheDir}`);

  stage(3, `train a tiny BERT_Dot with ${config.train.loss} (${backend.name})`);
  const runDir = path.join(config.run.out_dir, config.run.name);
  // A fresh student each time: the quickstart is a demonstration, not a resumable experiment.
  await fsp.rm(runDir, { recursive: true, force: true });
  await fsp.mkdir(runDir, { recursive: true });
  const tokenizer = await loadTokenizer(resolveVocab(config.data.vocab));
  const { init, ...sizes } = config.model;
  const model = init
    ? await loadDistilBert(init)
    : DistilBert.random({ ...TINY_STUDENT, vocab_size: tokenizer.vocabSize, ...definedOnly(sizes) }, config.run.seed);
  const collection = await loadIdText(f.collection);
  const val = {
    queries: await loadIdText(f.queriesVal),
    qrels: await readQrels(f.qrelsVal),
    candidates: await readRun(f.bm25Val),
  };
  const source = await openBatches(prep.cacheDir, {
    batchSize: config.train.batch_size,
    seed: config.run.seed,
    shuffleBuffer: config.data.shuffle_buffer,
    prefetch: config.data.prefetch,
    epochs: config.train.max_epochs,
  });
  const train = await runLoop({
    student: { params: model.weights, scores: (b) => bertDotScores(model, b), config: model.config },
    source,
    config: config.train,
    runDir,
    seed: config.run.seed,
    log,
    hooks: {
      // Validation re-ranks the val queries' BM25 candidates by dot product over the collection embedded once.
      validate: async () => {
        const run = dotRerank(model, tokenizer, collection, val.queries, val.candidates, config);
        return evaluate(val.qrels, run, { measures: [config.train.validation.measure] }).measures[config.train.validation.measure].all;
      },
    },
  });
  await source.close();
  log(`  ${train.steps} steps in ${formatSeconds(train.elapsed_s)} (${train.reason}); best ${train.best ? `${train.best.measure} ${train.best.value.toFixed(4)} at step ${train.best.step}` : 'none'}`);

  stage(4, 're-rank BM25 candidates and retrieve from the encoded collection (dev queries)');
  const student = train.best ? await loadDistilBert(path.join(runDir, 'best')) : model;
  const dev = { queries: await loadIdText(f.queriesDev), qrels: await readQrels(f.qrelsDev), bm25: await readRun(f.bm25Dev) };
  const ev = config.eval;
  const reranked = await rerank(student, tokenizer, dev.queries, collection, dev.bm25, {
    queryMaxLength: ev.rerank.query_max_length,
    passageMaxLength: ev.rerank.passage_max_length,
    batchSize: ev.rerank.batch_size,
    depth: ev.rerank.depth,
  });
  const indexDir = path.join(outDir, 'index');
  await fsp.rm(indexDir, { recursive: true, force: true });
  await encodeCollection(student, tokenizer, readIdText(f.collection), indexDir, {
    model: path.join(runDir, 'best'),
    maxLength: ev.rerank.passage_max_length,
    batchSize: ev.encode.batch_size,
    shardSize: ev.encode.shard_size,
    dtype: ev.encode.dtype,
  });
  const retrieved = await retrieve(student, tokenizer, dev.queries, indexDir, {
    k: ev.retrieve.k,
    queryChunk: ev.retrieve.query_chunk,
    docChunk: ev.retrieve.doc_chunk,
    queryMaxLength: ev.rerank.query_max_length,
    batchSize: ev.encode.batch_size,
  });
  await writeRun(path.join(outDir, 'runs', 'student.rerank.dev.trec'), reranked, 'student-rerank');
  await writeRun(path.join(outDir, 'runs', 'student.retrieve.dev.trec'), retrieved, 'student-retrieve');

  stage(5, 'report against BM25');
  const report = buildReport(
    [
      { system: 'BM25', mode: 'bm25', querySet: 'quickstart-dev', run: dev.bm25 },
      { system: 'BERT_Dot (tiny, Margin-MSE)', mode: 'rerank', querySet: 'quickstart-dev', run: reranked },
      { system: 'BERT_Dot (tiny, Margin-MSE)', mode: 'retrieval', querySet: 'quickstart-dev', run: retrieved },
    ],
    new Map([['quickstart-dev', { qrels: dev.qrels, minRel: 1 }]]),
    ev.measures,
  );
  const reportDir = path.join(outDir, 'report');
  await writeReport(reportDir, report, ev.alpha);
  if (student !== model) student.dispose();
  model.dispose();

  const bm25 = report.rows[0].measures;
  const beats: Record<string, boolean> = {};
  for (const m of ['mrr@10', 'ndcg@10']) beats[m] = report.rows.slice(1).every((r) => r.measures[m] > bm25[m]);
  return { report, markdown: reportMarkdown(report, ev.alpha), seconds: (Date.now() - t0) / 1000, train, beats, files: { report: reportDir, runDir } };
}

/** Sizes the config names (the model section leaves unnamed ones undefined). */
const definedOnly = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Scores each query's candidates by CLS dot products, every passage embedded once: [passages, dim]. */
function dotRerank(
  model: DistilBert,
  tokenizer: Awaited<ReturnType<typeof loadTokenizer>>,
  collection: Map<string, string>,
  queries: Map<string, string>,
  candidates: Run,
  config: Config,
): Run {
  const pids = [...new Set([...candidates.values()].flatMap((docs) => docs.map((d) => d.docno)))];
  const p = embedTexts(model, tokenizer, pids.map((pid) => collection.get(pid) ?? ''), config.eval.rerank.passage_max_length, config.train.validation.batch_size);
  const row = new Map(pids.map((pid, i) => [pid, i]));
  const qids = [...candidates.keys()];
  const q = embedTexts(model, tokenizer, qids.map((qid) => queries.get(qid) ?? ''), config.eval.rerank.query_max_length, config.train.validation.batch_size);
  const run: Run = new Map();
  qids.forEach((qid, qi) =>
    run.set(
      qid,
      candidates.get(qid)!.map((d) => {
        const pi = row.get(d.docno)!;
        let s = 0;
        for (let k = 0; k < q.dim; k++) s += q.vectors[qi * q.dim + k] * p.vectors[pi * p.dim + k];
        return { docno: d.docno, score: s };
      }),
    ),
  );
  return run;
}
