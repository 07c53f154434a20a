import { createReadStream, existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { makeDir, writeJsonAtomic } from '../common/atomic.js';
import { ConfigError } from '../common/config.js';
import { InputError, show } from '../common/errors.js';
import { readLines } from '../common/lines.js';
import { progress } from '../common/progress.js';
import { modelVocab } from '../data/vocab-name.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { readTriples } from '../data/triples.js';
import { loadIdText } from '../data/tsv.js';
import type { InferenceChoice } from '../models/engine/inference.js';
import { loadTeacher, scorePairs } from './pair-scorer.js';
import { DurableAppender, recoverLines } from './resume.js';
import { formatRow } from './score-file.js';

/**
 * Scores (query, positive, negative) triples with a BERT_Cat cross-encoder, writing a teacher score file:
 * id triples (`qid<TAB>pos_pid<TAB>neg_pid`, with the collection and queries) give the ids-scores form
 * `pos<TAB>neg<TAB>qid<TAB>pos_pid<TAB>neg_pid`; text triples (`query<TAB>pos<TAB>neg`) give the
 * text-scores form `pos<TAB>neg<TAB>query<TAB>pos<TAB>neg`. Resumable: see resume.ts.
 */
export type TripleInput = 'text' | 'ids';

export interface ScoreOptions {
  model: string;
  triples: string;
  out: string;
  /** Default: detected from the first line (three integer columns = ids). */
  input?: TripleInput;
  collection?: string;
  queries?: string;
  /** Default `<model>/vocab.txt`. */
  vocab?: string;
  /** Triples per batch; each batch runs 2x this many pairs through the model. */
  batchSize?: number;
  /** Whole `[CLS] q [SEP] p [SEP]` length, longest-first truncation. */
  maxLength?: number;
  /** Pairs per forward pass after sorting a batch's pairs by length (default 16; 0 = pad the whole batch together). */
  chunk?: number;
  /** Stop after this many triples in total (for samples and tests). */
  limit?: number;
  quiet?: boolean;
  /** The engine that scores (models/engine/inference.ts); default tfjs. */
  inference?: InferenceChoice;
  /** Where the line saying which engine scores goes (default: nowhere). */
  log?: (msg: string) => void;
}

export interface ScoreSummary {
  out: string;
  /** Lines in the output now. */
  lines: number;
  /** Lines found from an earlier run and kept. */
  resumed: number;
  /** Bytes of a torn last line cut off. */
  truncated: number;
  scored: number;
  /** Wall time of the whole run. */
  seconds: number;
  /** Time in tokenization and the model (for pairs/s). */
  scoreSeconds: number;
}

/** One triple to score: its texts and the columns to write after the scores. */
interface Item {
  line: number;
  query: string;
  pos: string;
  neg: string;
  triple: string;
}

const DIGITS = /^\d+$/;

async function detectInput(file: string): Promise<TripleInput> {
  for await (const { no, text } of readLines(file)) {
    if (text === '') continue;
    const cols = text.split('\t');
    if (cols.length !== 3) throw new InputError(file, no, '3 tab-separated columns (query, positive, negative as ids or texts)', `${cols.length}`);
    return cols.every((c) => DIGITS.test(c)) ? 'ids' : 'text';
  }
  throw new InputError(file, undefined, 'at least one triple', 'an empty file');
}

/** Id triples `qid<TAB>pos_pid<TAB>neg_pid` (the qidpidtriples form, data/triples.ts `ids`), joined with the texts. */
async function* idItems(file: string, queries: Map<string, string>, passages: Map<string, string>, qFile: string, cFile: string): AsyncGenerator<Item> {
  for await (const { line, qid, posPid, negPid } of readTriples(file, 'ids')) {
    const query = queries.get(qid);
    if (query === undefined) throw new InputError(file, line, `a qid in ${qFile}`, qid);
    const pos = passages.get(posPid);
    if (pos === undefined) throw new InputError(file, line, `a positive pid in ${cFile}`, posPid);
    const neg = passages.get(negPid);
    if (neg === undefined) throw new InputError(file, line, `a negative pid in ${cFile}`, negPid);
    yield { line, query, pos, neg, triple: `${qid}\t${posPid}\t${negPid}` };
  }
}

async function* textItems(file: string): AsyncGenerator<Item> {
  for await (const { line, query, pos, neg } of readTriples(file, 'text')) yield { line, query, pos, neg, triple: `${query}\t${pos}\t${neg}` };
}

/** Counts lines by scanning bytes (seconds for GBs), for the progress total. */
async function countLines(file: string): Promise<number> {
  let n = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 22 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) n++;
    last = chunk[chunk.length - 1];
  }
  return last === 0x0a ? n : n + 1;
}

interface RunMeta {
  model: string;
  triples: string;
  input: TripleInput;
  maxLength: number;
  vocab: string;
}

export async function scoreTriples(opts: ScoreOptions): Promise<ScoreSummary> {
  const t0 = Date.now();
  const batchSize = opts.batchSize ?? 32;
  const maxLength = opts.maxLength ?? 512;
  if (!(batchSize >= 1)) throw new ConfigError(`--batch-size must be >= 1, got ${batchSize}`);
  const input = opts.input ?? (await detectInput(opts.triples));
  const vocab = modelVocab(opts.model, opts.vocab); // a file or a bundled name, as data.vocab

  // A sidecar records what the output was made from, so a resume never mixes two runs' lines.
  const meta: RunMeta = { model: path.resolve(opts.model), triples: path.resolve(opts.triples), input, maxLength, vocab: path.resolve(vocab) };
  const metaFile = `${opts.out}.meta.json`;
  let resumed = 0;
  let truncated = 0;
  let lastLine: string | null = null;
  if (existsSync(opts.out)) {
    const old = existsSync(metaFile) ? (JSON.parse(await fsp.readFile(metaFile, 'utf8')) as RunMeta) : null;
    const differ = old ? (Object.keys(meta) as (keyof RunMeta)[]).filter((k) => old[k] !== meta[k]) : [];
    if (!old || differ.length > 0) {
      const why = old ? differ.map((k) => `${k} ${show(String(old[k]))} there, ${show(String(meta[k]))} now`).join('; ') : `${metaFile} is missing`;
      throw new ConfigError(`${opts.out} exists but was not written by this scoring run (${why}); remove it or choose another --out`);
    }
    ({ lines: resumed, truncated, lastLine } = await recoverLines(opts.out));
  } else {
    await makeDir(path.dirname(path.resolve(opts.out)));
    await writeJsonAtomic(metaFile, meta);
  }

  const tok = await loadTokenizer(vocab);
  const scorer = await loadTeacher(opts.model, opts.inference ?? 'tfjs', opts.log);
  let items: AsyncGenerator<Item>;
  if (input === 'ids') {
    if (!opts.collection || !opts.queries) throw new ConfigError(`${opts.triples} holds id triples: give --collection and --queries`);
    const [queries, passages] = await Promise.all([loadIdText(opts.queries, {}), loadIdText(opts.collection, {})]);
    items = idItems(opts.triples, queries, passages, opts.queries, opts.collection);
  } else items = textItems(opts.triples);

  const total = Math.min(await countLines(opts.triples), opts.limit ?? Infinity);
  const bar = opts.quiet ? null : progress({ label: resumed > 0 ? `scoring (resumed after ${resumed})` : 'scoring', total: Math.max(total - resumed, 0), unit: 'triples' });
  let scoreSeconds = 0;
  const out = await DurableAppender.open(opts.out);
  let seen = 0;
  let scored = 0;
  let batch: Item[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const pairs: [string, string][] = [...batch.map((b): [string, string] => [b.query, b.pos]), ...batch.map((b): [string, string] => [b.query, b.neg])];
    const t = performance.now();
    const s = await scorePairs(scorer.score, tok, pairs, { maxLength, chunk: opts.chunk ?? 16 }); // [2B]: positives, then negatives
    scoreSeconds += (performance.now() - t) / 1000;
    await out.appendBatch(batch.map((b, i) => formatRow(s[i], s[batch.length + i], b.triple)).join(''));
    scored += batch.length;
    bar?.tick(batch.length);
    batch = [];
  };
  try {
    for await (const item of items) {
      if (opts.limit !== undefined && seen >= opts.limit) break;
      seen++;
      if (seen <= resumed) {
        // The last kept line must be this run's: same triple at the same position.
        if (seen === resumed && lastLine !== null && !lastLine.endsWith(`\t${item.triple}`)) {
          throw new InputError(opts.out, resumed, `the scores of ${opts.triples}:${item.line} (${show(item.triple)})`, show(lastLine));
        }
        continue;
      }
      batch.push(item);
      if (batch.length === batchSize) await flush();
    }
    await flush();
  } finally {
    await out.close();
    bar?.stop();
    await scorer.dispose();
  }
  if (seen < resumed) throw new InputError(opts.out, undefined, `at most ${seen} lines (the triples in ${opts.triples})`, `${resumed}`);
  return { out: opts.out, lines: resumed + scored, resumed, truncated, scored, seconds: (Date.now() - t0) / 1000, scoreSeconds };
}
