/**
 * Eval benchmarks (`npx tsx bench/eval.ts [--docs N] [--queries N] [--dim N] [--k N] [--loop-docs N] [--backend B]
 * [--rerank-queries N] [--rerank-depth N] [--measures-only | --rerank-only]`):
 * 1. every measure for 7,000 queries x 1,000 docs (goal < 2 s), on an already-sorted run and on a shuffled
 *    one (which measures must rank as trec_eval does);
 * 2. exact top-k (default: 1,000 queries, 1M x 768 float32 documents, k 1,000) with eval/retrieve.ts's
 *    ExactSearch on a tfjs backend, against a plain JS loop (timed on `--loop-docs` documents and scaled
 *    linearly, since the full loop takes tens of minutes; also checks both give the same top-k there) and,
 *    when `import torch` works, PyTorch matmul + topk over the same sizes in the same run (goal: within 2x);
 * 3. re-ranking throughput (passages/s) of a DistilBERT-size student (random weights) with eval/rerank.ts over
 *    MS MARCO passages (../shared's sample triples; default 4 queries x 100 candidates, the config's lengths and
 *    batch size), on the tfjs backend (`--backend`, default wasm) and on ONNX Runtime (every core, or
 *    MARGIN_MSE_THREADS) from the same weights (goal: ONNX Runtime >= 4x wasm).
 * Prints a table and writes bench/out/eval.json.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeJsonAtomic } from '../common/atomic.js';
import { ROOT, sharedPath } from '../common/paths.js';
import { rng } from '../common/rng.js';
import type { Qrels } from '../data/qrels.js';
import type { Run } from '../data/runs.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { initBackend, type BackendChoice } from '../models/engine/backend.js';
import { DISTILBERT_BASE, DistilBert } from '../models/distilbert.js';
import { rerankOptions } from '../eval/config.js';
import { studentEncoder } from '../eval/embed.js';
import { evaluate } from '../eval/measures.js';
import { rerank } from '../eval/rerank.js';
import { Config } from '../pipelines/config.js';
import { ExactSearch } from '../eval/retrieve.js';
import { textTable } from '../eval/table.js';
import { TopK } from '../eval/topk.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const backendArg = (): BackendChoice => {
  const i = process.argv.indexOf('--backend');
  return (i > 0 ? process.argv[i + 1] : 'wasm') as BackendChoice;
};

/** Deterministic uniform [-0.5, 0.5) fill. */
function fill(out: Float32Array, seed: number): Float32Array {
  const r = rng(seed);
  for (let i = 0; i < out.length; i++) out[i] = r() - 0.5;
  return out;
}

const best = (times: number[]): number => Math.min(...times);
const time = (f: () => void): number => {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
};

function benchMeasures(): Record<string, number> {
  const Q = 7000;
  const D = 1000;
  const rnd = fill(new Float32Array(Q * (D + 8)), 7);
  let r = 0;
  const qrels: Qrels = new Map();
  const sorted: Run = new Map();
  const shuffled: Run = new Map();
  for (let q = 0; q < Q; q++) {
    const docs = Array.from({ length: D }, (_, d) => ({ docno: `${q * 7919 + d * 104729}`, score: 100 - d / 10 }));
    // ~1.5 relevant per query on average, at random depths, grades 1-3; one judged non-relevant.
    const judged = new Map<string, number>();
    for (let j = 0; j < 3; j++) if (rnd[r++] > -0.25) judged.set(docs[Math.floor((rnd[r++] + 0.5) * D)].docno, 1 + Math.floor((rnd[r++] + 0.5) * 3));
    judged.set(`${q}-unretrieved`, 1);
    qrels.set(String(q), judged);
    sorted.set(String(q), docs);
    const mixed = docs.slice();
    for (let i = mixed.length - 1; i > 0; i--) {
      const j = Math.floor((rnd[(r++ % rnd.length)] + 0.5) * (i + 1));
      [mixed[i], mixed[j]] = [mixed[j], mixed[i]];
    }
    // Fresh objects in the shuffled order, as readRun allocates them from an unsorted file (shuffling the
    // sorted run's own objects would also scatter them in memory, which no real run does).
    shuffled.set(String(q), mixed.map((d) => ({ docno: d.docno, score: d.score })));
  }
  const measures = ['mrr@10', 'ndcg@10', 'recall@100', 'recall@1000', 'p@10', 'map', 'map@1000'];
  const run = (x: Run): number => best([0, 1, 2].map(() => time(() => evaluate(qrels, x, { measures, minRel: 1 }))));
  return { queries: Q, docsPerQuery: D, measures: measures.length, sortedSeconds: run(sorted), shuffledSeconds: run(shuffled) };
}

/** The plain-JS baseline: one dot product per (query, doc), a heap per query. */
function jsLoop(queries: Float32Array, docs: Float32Array, dim: number, k: number): Int32Array[] {
  const nq = queries.length / dim;
  const nd = docs.length / dim;
  const out: Int32Array[] = [];
  for (let q = 0; q < nq; q++) {
    const top = new TopK(k);
    const qo = q * dim;
    for (let d = 0; d < nd; d++) {
      let s = 0;
      const dO = d * dim;
      for (let i = 0; i < dim; i++) s += queries[qo + i] * docs[dO + i];
      top.push(Math.fround(s), d);
    }
    out.push(Int32Array.from(top.result(), (x) => x.id));
  }
  return out;
}

function torchPython(): string | undefined {
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
      return py;
    } catch {
      // not this one
    }
  }
  return undefined;
}

async function benchRetrieval(): Promise<Record<string, unknown>> {
  const nq = arg('queries', 1000);
  const nd = arg('docs', 1_000_000);
  const dim = arg('dim', 768);
  const k = arg('k', 1000);
  const loopDocs = Math.min(arg('loop-docs', 16_384), nd);
  const chunk = 65_536;
  const backend = await initBackend(backendArg());
  const queries = fill(new Float32Array(nq * dim), 11);
  // Documents as 64K-row blocks (like encode's shards): 1M x 768 float32 is 3 GB, too big for one array.
  const blocks: Float32Array[] = [];
  for (let s = 0, b = 0; s < nd; s += chunk, b++) blocks.push(fill(new Float32Array(Math.min(chunk, nd - s) * dim), 1000 + b));

  const search = new ExactSearch(queries, dim, { k, queryChunk: nq, docChunk: chunk });
  const t0 = performance.now();
  for (const b of blocks) search.add(b);
  await search.result();
  const tfjsSeconds = (performance.now() - t0) / 1000;
  search.dispose();

  // Exactness and the JS baseline on the first loopDocs documents.
  const subset = blocks[0].subarray(0, loopDocs * dim);
  const small = new ExactSearch(queries, dim, { k: Math.min(k, loopDocs), queryChunk: nq, docChunk: chunk });
  small.add(subset);
  const fromTf = (await small.result()).indices;
  small.dispose();
  let loopResult: Int32Array[] = [];
  const loopSeconds = time(() => (loopResult = jsLoop(queries, subset, dim, Math.min(k, loopDocs))));
  let same = 0;
  let total = 0;
  loopResult.forEach((ids, q) => {
    const set = new Set(fromTf[q]);
    for (const id of ids) same += set.has(id) ? 1 : 0;
    total += ids.length;
  });

  // PyTorch with 1 thread (its default on these machines) and with every core (what tfjs wasm uses).
  const torch: Record<string, unknown>[] = [];
  const py = torchPython();
  if (py) {
    blocks.length = 0; // free 3 GB before PyTorch allocates its own copy
    for (const threads of [...new Set([1, os.availableParallelism()])]) {
      const out = execFileSync(py, [path.join(ROOT, 'bench', 'torch_topk.py'), String(nq), String(nd), String(dim), String(k), String(chunk), String(threads)], { encoding: 'utf8', maxBuffer: 1 << 20 });
      torch.push(JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>);
    }
  }
  return {
    backend: backend.name,
    engine: backend.reasons[0],
    queries: nq,
    docs: nd,
    dim,
    k,
    tfjsSeconds,
    jsLoop: { docs: loopDocs, seconds: loopSeconds, scaledSeconds: (loopSeconds * nd) / loopDocs },
    topkAgreementWithLoop: same / total,
    torch: torch.length ? torch : 'not available (python3 cannot import torch)',
  };
}

/** Queries and passage texts of ../shared's MS MARCO sample triples (query, positive, negative). */
function sampleTexts(): { queries: string[]; passages: string[] } {
  const rows = readFileSync(sharedPath('data', 'msmarco-sample', 'triples.train.sample.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
  return { queries: [...new Set(rows.map((r) => r[0]))], passages: [...new Set(rows.flatMap((r) => [r[1], r[2]]))] };
}

interface RerankBench {
  backend: string;
  queries: number;
  depth: number;
  batchSize: number;
  passageMaxLength: number;
  rows: { engine: string; seconds: number; passagesPerSecond: number }[];
}

/** Re-ranking passages/s on the tfjs backend and on ONNX Runtime, one model, the same candidates. */
async function benchRerank(): Promise<RerankBench> {
  const nq = arg('rerank-queries', 4);
  const depth = arg('rerank-depth', 100);
  const backend = await initBackend(backendArg(), { quiet: true });
  const tokenizer = await loadTokenizer(sharedPath('data', 'vocab', 'bert-base-uncased-vocab.txt'));
  const texts = sampleTexts();
  const queries = new Map(texts.queries.slice(0, nq).map((q, i) => [`q${i}`, q]));
  const passages = new Map(texts.passages.map((p, i) => [`p${i}`, p]));
  // Each query's candidates: `depth` passages taken round-robin from the pool, so queries differ.
  const run: Run = new Map([...queries.keys()].map((q, i) => [q, Array.from({ length: depth }, (_, d) => ({ docno: `p${(i * depth + d) % passages.size}`, score: depth - d }))]));
  const opts = rerankOptions(Config.parse({}));
  const model = DistilBert.random(DISTILBERT_BASE, 3);
  const rows: RerankBench['rows'] = [];
  try {
    for (const choice of ['tfjs', 'onnx'] as const) {
      const encoder = await studentEncoder(model, choice);
      process.stderr.write(`re-ranking ${nq} x ${depth} on ${encoder.engine}...\n`);
      try {
        await rerank(encoder.encode, tokenizer, new Map([...queries].slice(0, 1)), passages, new Map([...run].slice(0, 1).map(([q, d]) => [q, d.slice(0, 8)])), opts); // warm-up
        const t0 = performance.now();
        await rerank(encoder.encode, tokenizer, queries, passages, run, opts);
        const seconds = (performance.now() - t0) / 1000;
        rows.push({ engine: encoder.engine, seconds, passagesPerSecond: (nq * depth) / seconds });
      } finally {
        await encoder.dispose();
      }
    }
  } finally {
    model.dispose();
  }
  return { backend: backend.name, queries: nq, depth, batchSize: opts.batchSize, passageMaxLength: opts.passageMaxLength, rows };
}

function rerankTableRows(r: RerankBench): string[][] {
  const what = `re-ranking: ${r.queries} q x ${r.depth} MS MARCO passages, DistilBERT-size`;
  return r.rows.map((x, i) => [
    i === 0 ? what : '',
    `${x.passagesPerSecond.toFixed(1)} passages/s`,
    `${x.engine}${i > 0 ? `; ${(x.passagesPerSecond / r.rows[0].passagesPerSecond).toFixed(1)}x the first (goal >= 4)` : ''}`,
  ]);
}

if (process.argv.includes('--rerank-only')) {
  const reranking = await benchRerank();
  process.stdout.write(`${textTable(['benchmark', 'speed', 'note'], rerankTableRows(reranking))}\nload average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores\n`);
  await writeJsonAtomic(path.join(ROOT, 'bench', 'out', 'eval-rerank.json'), { reranking, loadAverage: os.loadavg(), cpus: os.cpus().length, tfjs: tf.version_core });
  process.exit(0);
}
const measures = benchMeasures();
if (process.argv.includes('--measures-only')) {
  process.stdout.write(`measures: sorted ${measures.sortedSeconds.toFixed(3)} s, unsorted ${measures.shuffledSeconds.toFixed(3)} s (7 measures, 7000 q x 1000 docs); load average ${os.loadavg()[0].toFixed(1)}\n`);
  process.exit(0);
}
const retrieval = await benchRetrieval();
const reranking = await benchRerank();
const rj = retrieval as { tfjsSeconds: number; engine: string; jsLoop: { scaledSeconds: number; docs: number }; torch: { seconds: number; threads: number }[] | string };
const torchRows = typeof rj.torch === 'string' ? [['  PyTorch matmul+topk', 'n/a', rj.torch]] : rj.torch.map((t) => [
  `  PyTorch matmul+topk (${t.threads} thread${t.threads > 1 ? 's' : ''})`,
  `${t.seconds.toFixed(2)} s`,
  `tfjs/torch = ${(rj.tfjsSeconds / t.seconds).toFixed(2)} (goal <= 2)`,
]);
const rows = [
  ['measures: 7 measures, 7000 q x 1000 docs, sorted run', `${measures.sortedSeconds.toFixed(3)} s`, 'goal < 2 s'],
  ['measures: same, unsorted run (ranked by measures)', `${measures.shuffledSeconds.toFixed(3)} s`, 'goal < 2 s'],
  [`top-${retrieval.k}: ${retrieval.queries} q x ${retrieval.docs} x ${retrieval.dim}, tfjs ${retrieval.backend}`, `${rj.tfjsSeconds.toFixed(2)} s`, rj.engine.replace(/^using \w+: /, '')],
  [`  plain JS loop (${rj.jsLoop.docs} docs, scaled)`, `${rj.jsLoop.scaledSeconds.toFixed(1)} s`, `tfjs ${(rj.jsLoop.scaledSeconds / rj.tfjsSeconds).toFixed(1)}x faster`],
  ...torchRows,
  ...rerankTableRows(reranking),
];
process.stdout.write(`${textTable(['benchmark', 'time', 'note'], rows)}\n`);
process.stdout.write(`top-k agreement with the JS loop: ${((retrieval.topkAgreementWithLoop as number) * 100).toFixed(2)}%; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores\n`);
await writeJsonAtomic(path.join(ROOT, 'bench', 'out', 'eval.json'), { measures, retrieval, reranking, loadAverage: os.loadavg(), cpus: os.cpus().length, tfjs: tf.version_core });
