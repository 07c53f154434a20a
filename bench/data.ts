/**
 * Data stage benchmark (`npx tsx bench/data.ts [--part tokenize|e2e] [--texts 100000] [--passages 1000000] [--queries N] [--triples N]`;
 * queries and triples default to MS MARCO's proportions to the passages):
 * 1. tokenization texts/s of our WordPiece vs HuggingFace's native `tokenizers` (Rust, pinned to one
 *    thread) and the pure-JS @huggingface/tokenizers, on the same generated MS MARCO-length passages,
 *    after checking that each gives the goldens' ids;
 * 2. end-to-end `prepare` + batching (batch 32, shuffle buffer 10k) from an id triple file over a
 *    generated collection: triples/s and peak RSS.
 * Writes bench/out/data.json.
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, sharedPath } from '../common/paths.js';
import { openBatches } from '../data/batcher.js';
import { DataConfig } from '../data/config.js';
import { prepare } from '../data/prepare.js';
import { rng } from '../common/rng.js';
import { loadTokenizer } from '../data/tokenizer.js';

// The native tokenizers parallelize batches with rayon: pin to one thread, as our tokenizer uses one.
process.env.RAYON_RS_NUM_CPUS = '1';
process.env.RAYON_NUM_THREADS = '1';
process.env.TOKENIZERS_PARALLELISM = 'false';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const N_TEXTS = arg('texts', 100_000);
const N_PASSAGES = arg('passages', 1_000_000);
// MS MARCO's proportions: 808,731 train queries and 39.8M scored triples for 8.84M passages.
const N_QUERIES = arg('queries', Math.round(N_PASSAGES * 0.0915));
const N_TRIPLES = arg('triples', Math.round(N_PASSAGES * 4.5));
const VOCAB = path.join(ROOT, 'data', 'vocab', 'bert-base-uncased-vocab.txt');
const WORK = path.join(tmpdir(), 'margin-mse-bench-data');
mkdirSync(WORK, { recursive: true });

/**
 * Texts shaped like MS MARCO passages: words drawn from real MS MARCO text (the sample passages and
 * triples, with their mojibake, and the dev queries), so word frequencies are natural; 5% of words are
 * made-up letter strings or numbers, as real passages carry many rare names and figures. 30-90 words.
 */
function textGenerator(seed: number): { passage: () => string; query: () => string } {
  const real = [
    readFileSync(sharedPath('data', 'msmarco-sample', 'collection.sample.tsv'), 'utf8'),
    readFileSync(sharedPath('data', 'msmarco-sample', 'triples.train.sample.tsv'), 'utf8'),
    readFileSync(sharedPath('data', 'trec', 'topics.msmarco-passage.dev-subset.txt'), 'utf8'),
  ]
    .join('\n')
    .split(/\s+/)
    .filter((w) => w.length > 0 && !/^\d+$/.test(w));
  const rand = rng(seed);
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)];
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const rare = () =>
    rand() < 0.5
      ? String(Math.floor(rand() * 100000))
      : Array.from({ length: 3 + Math.floor(rand() * 8) }, () => letters[Math.floor(rand() * 26)]).join('');
  const words = (n: number) => Array.from({ length: n }, () => (rand() < 0.05 ? rare() : pick(real))).join(' ');
  return { passage: () => words(30 + Math.floor(rand() * 61)), query: () => words(3 + Math.floor(rand() * 8)) };
}

const goldens = readFileSync(sharedPath('goldens', 'tokenizer', 'bert-base-uncased.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { text: string; ids: number[] });

async function goldenMismatches(ids: (text: string) => Promise<number[]> | number[]): Promise<number> {
  let bad = 0;
  for (const g of goldens) if (JSON.stringify(await ids(g.text)) !== JSON.stringify(g.ids)) bad++;
  return bad;
}

/**
 * Seconds of CPU time (user + system, all threads of this process) and of wall time. Rates and ratios
 * use CPU time: the machines running this are shared, and under load wall time mostly measures the
 * neighbours; the native tokenizer is pinned to one thread, so CPU seconds compare like with like.
 */
interface Took {
  cpu: number;
  wall: number;
}
function time<T>(f: () => T): [T, Took] {
  const c = process.cpuUsage();
  const t = performance.now();
  const r = f();
  const u = process.cpuUsage(c);
  return [r, { cpu: (u.user + u.system) / 1e6, wall: (performance.now() - t) / 1000 }];
}
async function timeAsync<T>(f: () => Promise<T>): Promise<[T, Took]> {
  const c = process.cpuUsage();
  const t = performance.now();
  const r = await f();
  const u = process.cpuUsage(c);
  return [r, { cpu: (u.user + u.system) / 1e6, wall: (performance.now() - t) / 1000 }];
}

async function tokenization(): Promise<Record<string, unknown>> {
  const gen = textGenerator(1);
  const texts = Array.from({ length: N_TEXTS }, gen.passage);
  const chars = texts.reduce((s, t) => s + t.length, 0);

  const ours = await loadTokenizer(VOCAB);
  const oursCold = await loadTokenizer(VOCAB, { cacheSize: 0 });

  const native = (await import('tokenizers')).default as typeof import('tokenizers');
  const model = await native.WordPiece.fromFile(VOCAB, { unkToken: '[UNK]', maxInputCharsPerWord: 100 });
  const rust = new native.Tokenizer(model);
  rust.setNormalizer(native.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: true }));
  rust.setPreTokenizer(native.bertPreTokenizer());
  const tokenizerJson = path.join(WORK, 'tokenizer.json');
  rust.save(tokenizerJson);
  const hfjs = await import('@huggingface/tokenizers');
  const js = new hfjs.Tokenizer(JSON.parse(readFileSync(tokenizerJson, 'utf8')), {});

  const mismatches = {
    ours: await goldenMismatches((t) => ours.ids(t)),
    tokenizers_native: await goldenMismatches(async (t) => (await rust.encode(t, null, { addSpecialTokens: false })).getIds()),
    huggingface_tokenizers_js: await goldenMismatches((t) => js.encode(t, { add_special_tokens: false }).ids),
  };

  // Warm up each (JIT, caches of the first texts are then part of the steady state as in a long run).
  for (const t of texts.slice(0, 2000)) ours.ids(t);
  const [, tOurs] = time(() => texts.forEach((t) => ours.ids(t)));
  const [, tCold] = time(() => texts.forEach((t) => oursCold.ids(t)));
  const CHUNK = 1000;
  await rust.encodeBatch(texts.slice(0, CHUNK), { addSpecialTokens: false });
  const [, tRust] = await timeAsync(async () => {
    for (let i = 0; i < texts.length; i += CHUNK) await rust.encodeBatch(texts.slice(i, i + CHUNK), { addSpecialTokens: false });
  });
  const jsTexts = texts.slice(0, Math.min(texts.length, 20_000));
  const [, tJs] = time(() => jsTexts.forEach((t) => js.encode(t, { add_special_tokens: false })));
  const rate = (n: number, s: number) => Math.round(n / s);
  const rates = (k: 'cpu' | 'wall') => ({
    ours: rate(texts.length, tOurs[k]),
    ours_no_word_cache: rate(texts.length, tCold[k]),
    tokenizers_native_1_thread: rate(texts.length, tRust[k]),
    huggingface_tokenizers_js: rate(jsTexts.length, tJs[k]),
  });
  return {
    texts: texts.length,
    mean_chars: Math.round(chars / texts.length),
    non_ascii_texts: texts.filter((t) => /[^\x20-\x7e]/.test(t)).length,
    golden_mismatches: mismatches,
    texts_per_cpu_s: rates('cpu'),
    texts_per_wall_s: rates('wall'),
    ratio_vs_native: +(tRust.cpu / tOurs.cpu).toFixed(2),
    ratio_vs_native_no_word_cache: +(tRust.cpu / tCold.cpu).toFixed(2),
  };
}

async function writeLines(file: string, n: number, line: (i: number) => string): Promise<void> {
  if (existsSync(file)) return; // generated with a fixed seed: reuse across runs
  const tmp = `${file}.partial`;
  const out = createWriteStream(tmp);
  let chunk: string[] = [];
  for (let i = 0; i < n; i++) {
    chunk.push(line(i));
    if (chunk.length === 10_000) {
      if (!out.write(chunk.join(''))) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = [];
    }
  }
  out.write(chunk.join(''));
  await new Promise<void>((resolve) => out.end(() => resolve()));
  renameSync(tmp, file);
}

async function endToEnd(): Promise<Record<string, unknown>> {
  const gen = textGenerator(2);
  const rand = rng(3);
  const tag = `${N_PASSAGES}-${N_QUERIES}-${N_TRIPLES}`;
  const collection = path.join(WORK, `collection-${N_PASSAGES}.tsv`);
  const queries = path.join(WORK, `queries-${N_QUERIES}.tsv`);
  const triples = path.join(WORK, `triples-${tag}.tsv`);
  await writeLines(collection, N_PASSAGES, (i) => `${i}\t${gen.passage()}\n`);
  await writeLines(queries, N_QUERIES, (i) => `${i}\t${gen.query()}\n`);
  await writeLines(triples, N_TRIPLES, () => {
    const s = () => (rand() * 20 - 5).toFixed(6);
    return `${s()}\t${s()}\t${Math.floor(rand() * N_QUERIES)}\t${Math.floor(rand() * N_PASSAGES)}\t${Math.floor(rand() * N_PASSAGES)}\n`;
  });
  const cacheDir = path.join(WORK, `cache-${tag}`);
  rmSync(cacheDir, { recursive: true, force: true });
  const cfg = DataConfig.parse({ collection, queries, triples, cache_dir: cacheDir });

  const rssBefore = process.resourceUsage().maxRSS;
  const [{ manifest }, tPrepare] = await timeAsync(() => prepare(cfg));
  const [again, tAgain] = await timeAsync(() => prepare(cfg));
  const [batches, tBatch] = await timeAsync(async () => {
    const src = await openBatches(cacheDir, { batchSize: 32, seed: 1, shuffleBuffer: cfg.shuffle_buffer, prefetch: cfg.prefetch });
    let n = 0;
    for (let b = await src.next(); b; b = await src.next()) n += b.size;
    await src.close();
    return n;
  });
  const total = tPrepare.wall + tBatch.wall;
  const cpu = tPrepare.cpu + tBatch.cpu;
  const r = (x: Took) => ({ wall: +x.wall.toFixed(2), cpu: +x.cpu.toFixed(2) });
  return {
    passages: manifest.passages.rows,
    queries: manifest.queries.rows,
    triples: manifest.groups.rows,
    batched_triples: batches,
    seconds: { prepare: r(tPrepare), prepare_again_up_to_date: r(tAgain), batching: r(tBatch) },
    up_to_date_second_run: again.reused,
    triples_per_cpu_s: Math.round(manifest.groups.rows / cpu),
    triples_per_wall_s: Math.round(manifest.groups.rows / total),
    batching_triples_per_cpu_s: Math.round(batches / tBatch.cpu),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    peak_rss_mb_before: Math.round(rssBefore / 1024),
  };
}

function printTokenization(tok: Record<string, unknown>): void {
  const cpuT = tok.texts_per_cpu_s as Record<string, number>;
  const wallT = tok.texts_per_wall_s as Record<string, number>;
  console.log(`tokenization: ${tok.texts} generated MS MARCO-length passages (mean ${tok.mean_chars} chars, ${tok.non_ascii_texts} with non-ASCII), 1 thread`);
  console.log(`  golden mismatches (of ${goldens.length}): ${JSON.stringify(tok.golden_mismatches)}`);
  console.log(`  ${'tokenizer'.padEnd(32)} ${'texts/cpu-s'.padStart(12)} ${'texts/wall-s'.padStart(12)}`);
  for (const k of Object.keys(cpuT)) console.log(`  ${k.padEnd(32)} ${String(cpuT[k]).padStart(12)} ${String(wallT[k]).padStart(12)}`);
  console.log(`  ratio ours / native: ${tok.ratio_vs_native}x (without the word cache: ${tok.ratio_vs_native_no_word_cache}x)   goal >= 2x`);
}

function printEndToEnd(e2e: Record<string, unknown>): void {
  console.log(`end to end: ${e2e.passages} passages, ${e2e.queries} queries, ${e2e.triples} id triples → batches of 32`);
  console.log(`  seconds ${JSON.stringify(e2e.seconds)}`);
  console.log(
    `  ${e2e.triples_per_cpu_s} triples/cpu-s, ${e2e.triples_per_wall_s} triples/wall-s (goal >= 20000); ` +
      `batching alone ${e2e.batching_triples_per_cpu_s}/cpu-s; peak RSS ${e2e.peak_rss_mb} MB`,
  );
  console.log(`  load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores`);
}

// `--part tokenize|e2e` runs one half (the end-to-end peak RSS is only its own when it runs alone).
const partArg = process.argv.indexOf('--part');
const part = partArg >= 0 ? process.argv[partArg + 1] : 'all';
const results: Record<string, unknown> = { date: new Date().toISOString() };
if (part !== 'e2e') printTokenization((results.tokenization = await tokenization()) as Record<string, unknown>);
if (part !== 'tokenize') printEndToEnd((results.end_to_end = await endToEnd()) as Record<string, unknown>);
mkdirSync(path.join(ROOT, 'bench', 'out'), { recursive: true });
writeFileSync(path.join(ROOT, 'bench', 'out', `data${part === 'all' ? '' : `-${part}`}.json`), `${JSON.stringify(results, null, 2)}\n`);
