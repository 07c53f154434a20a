import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { formatSeconds } from '../common/progress.js';
import { makeDir } from '../common/atomic.js';
import { ConfigError, loadConfig } from '../common/config.js';
import { Config } from './config.js';
import { readQrels } from '../data/qrels.js';
import { readRun, writeRun } from '../data/runs.js';
import { prepare } from '../data/prepare.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { loadIdText, readIdText } from '../data/tsv.js';
import { resolveVocab } from '../data/config.js';
import { encodeOptions, rerankOptions, retrieveOptions } from '../eval/config.js';
import { studentEncoder } from '../eval/embed.js';
import { encodeCollection, modelIdentity } from '../eval/vector-index.js';
import { buildReport, reportMarkdown, writeReport, type Report } from '../eval/report.js';
import { rerank } from '../eval/rerank.js';
import { retrieve } from '../eval/retrieve.js';
import { loadDistilBert } from '../models/weights/hf.js';
import { initBackend } from '../models/engine/backend.js';
import type { TrainSummary } from '../train/summary.js';
import { runDirOf, train as trainStudent } from './train.js';
import { DEFAULT_GENERATE, type DatasetFiles, type GenerateOptions } from '../quickstart/generate.js';
import { ensureDataset } from '../quickstart/dataset.js';

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

/** Overrides that point a run config at the generated dataset under `outDir` (paths quoted: YAML values). */
export function datasetSets(outDir: string, f: DatasetFiles): string[] {
  const q = JSON.stringify;
  return [
    `data.collection=${q(f.collection)}`,
    `data.queries=${q(f.queriesTrain)}`,
    `data.triples=${q(f.trainScores)}`,
    'data.triples_format=ids-scores',
    `data.cache_dir=${q(path.join(outDir, 'cache'))}`,
    `train.validation.queries=${q(f.queriesVal)}`,
    `train.validation.qrels=${q(f.qrelsVal)}`,
    `train.validation.candidates=${q(f.bm25Val)}`,
    `train.validation.collection=${q(f.collection)}`,
    `run.out_dir=${q(outDir)}`,
    'run.name=student',
  ];
}

/**
 * The whole pipeline on the generated dataset: generate → prepare (tokenized Arrow cache) → train a tiny
 * BERT_Dot with Margin-MSE against the generated teacher scores (pipelines/train.ts, as `margin-mse train`),
 * validating on the `val` queries and keeping best/ → re-rank the dev BM25 candidates and retrieve from the
 * encoded collection → the report against BM25. Every stage writes under `outDir`.
 */
export async function runQuickstart(o: QuickstartOptions): Promise<QuickstartResult> {
  const t0 = Date.now();
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const stage = (n: number, what: string) => log(`\nquickstart [${n}/5] ${what} (${formatSeconds((Date.now() - t0) / 1000)} elapsed)`);
  const outDir = path.resolve(o.outDir);
  // The config and the output folder are checked before anything is generated: a mistake there is one line, at once.
  await loadConfig(Config, o.configFile, o.sets ?? []);
  await makeDir(outDir);

  stage(1, 'generate the dataset');
  const gen = { ...DEFAULT_GENERATE, ...o.generate };
  const { files: f, reused } = await ensureDataset(path.join(outDir, 'data'), gen);
  log(`  ${reused ? 'reused' : 'wrote'} ${f.dir} (seed ${gen.seed})`);

  const config = await loadConfig(Config, o.configFile, [...datasetSets(outDir, f), ...(o.sets ?? [])]);
  // The trainer initializes the backend again (a no-op) and logs the choice; here only its name is needed.
  const backend = await initBackend(config.run.backend, { quiet: true });

  stage(2, 'prepare: tokenize into the Arrow cache');
  const prep = await prepare(config.data);
  log(`  ${prep.reused ? 'reused' : 'built'} ${prep.cacheDir}`);

  stage(3, `train a tiny BERT_Dot with ${config.train.loss} (${backend.name})`);
  const runDir = runDirOf(config);
  // A fresh student each time: the quickstart is a demonstration, not a resumable experiment.
  await fsp.rm(runDir, { recursive: true, force: true });
  const train = await trainStudent(config, { log, command: 'margin-mse quickstart' });
  log(`  ${train.steps} steps in ${formatSeconds(train.elapsed_s)} (${train.reason}); best ${train.best ? `${train.best.measure} ${train.best.value.toFixed(4)} at step ${train.best.step}` : 'none'}`);

  stage(4, 're-rank BM25 candidates and retrieve from the encoded collection (dev queries)');
  if (!train.best) {
    throw new ConfigError(`${runDir}: training kept no best/: no validation ran in ${train.steps} steps (train.validation.every ${config.train.validation.every}); give train.max_steps at least one validation interval`);
  }
  const student = await loadDistilBert(path.join(runDir, 'best'));
  const encoder = await studentEncoder(student, config.run.inference);
  log(`  inference: ${encoder.engine}`);
  const tokenizer = await loadTokenizer(resolveVocab(config.data.vocab));
  const collection = await loadIdText(f.collection);
  const dev = { queries: await loadIdText(f.queriesDev), qrels: await readQrels(f.qrelsDev), bm25: await readRun(f.bm25Dev) };
  const ev = config.eval;
  const reranked = await rerank(encoder.encode, tokenizer, dev.queries, collection, dev.bm25, rerankOptions(config));
  const indexDir = path.join(outDir, 'index');
  await fsp.rm(indexDir, { recursive: true, force: true });
  const bestId = await modelIdentity(path.join(runDir, 'best'));
  await encodeCollection(encoder.encode, tokenizer, readIdText(f.collection), indexDir, encodeOptions(config, bestId));
  const retrieved = await retrieve(encoder.encode, tokenizer, dev.queries, indexDir, retrieveOptions(config, bestId));
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
  student.dispose();
  await encoder.dispose();

  const bm25 = report.rows[0].measures;
  const beats: Record<string, boolean> = {};
  for (const m of ['mrr@10', 'ndcg@10']) beats[m] = report.rows.slice(1).every((r) => r.measures[m] > bm25[m]);
  return { report, markdown: reportMarkdown(report, ev.alpha), seconds: (Date.now() - t0) / 1000, train, beats, files: { report: reportDir, runDir } };
}
