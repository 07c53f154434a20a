import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { expectExit0, expectNoNoise, expectOk, expectOneLineError, leftoverTemps, runCli, scratch } from './testing.js';

/**
 * `margin-mse eval ...` as a user runs it, on bad input (issue 16). Measures on the real DL'19 files; the
 * student commands on the tiny DistilBERT golden (cpu backend) over 20 sample passages.
 */
vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 }); // cases wait for a CLI slot (cli/testing.ts)
const s = scratch('eval-errors-');
const QRELS = sharedPath('data/trec/qrels.dl19-passage.txt');
const RUN = sharedPath('data/runs/dl19-passage.bm25-top500.trec');
const MODEL = sharedPath('goldens/distilbert-tiny');
const VOCAB = sharedPath('data/vocab/bert-base-uncased-vocab.txt');
const SAMPLE = sharedPath('data/msmarco-sample/collection.sample.tsv');

let collection: string;
let pids: string[];
let queries: string;
let candidates: string;
let index: string;
/** The tiny DistilBERT with every weight's sign flipped: same width, another model. */
let otherModel: string;

/** Flags of the student commands; `more` adds flags or replaces these (`--set` adds). */
const student = (...more: string[]): string[] => {
  const flags = new Map<string, string[]>([['--model', [MODEL]], ['--vocab', [VOCAB]], ['--backend', ['cpu']], ['--set', ['data.passage_max_length=32']]]);
  for (let i = 0; i < more.length; i += 2) flags.set(more[i], more[i] === '--set' ? [...(flags.get('--set') ?? []), more[i + 1]] : [more[i + 1]]);
  return [...flags].flatMap(([flag, values]) => values.flatMap((v) => [flag, v]));
};

/** A copy of `from` whose float32 weights all have their sign flipped. */
function flippedModel(from: string, to: string): string {
  cpSync(from, to, { recursive: true });
  const file = path.join(to, 'model.safetensors');
  const b = readFileSync(file);
  const start = 8 + Number(b.readBigUInt64LE(0));
  for (let i = start + 3; i < b.length; i += 4) b[i] ^= 0x80;
  writeFileSync(file, b);
  return to;
}

beforeAll(async () => {
  const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n').slice(0, 20);
  collection = s.file('collection.tsv', `${lines.join('\n')}\n`);
  pids = lines.map((l) => l.split('\t')[0]);
  queries = s.file('queries.tsv', 'a\tmanhattan project atomic bomb\nb\twhat is the capital of france\n');
  candidates = s.file('candidates.trec', ['a', 'b'].flatMap((q) => pids.map((p, i) => `${q} Q0 ${p} ${i + 1} ${20 - i} bm25`)).join('\n') + '\n');
  otherModel = flippedModel(MODEL, s.at('other-model'));
  index = s.at('index');
  expectExit0(await runCli(['eval', 'encode', ...student('--collection', collection, '--out', index, '--shard-size', '8')]));
});

describe.concurrent('eval metrics and compare', () => {
  it.each(['abc', '-1', '1.5'])('--min-rel %s is refused naming the flag (was: all measures 0 or 1, exit 0)', async (v) => {
    expectOneLineError(await runCli(['eval', 'metrics', '--qrels', QRELS, '--run', RUN, '--min-rel', v]), '--min-rel');
  });

  it.each([
    ['--run', 'missing', () => s.at('nope.trec')],
    ['--run', 'a folder', () => s.dir],
    ['--qrels', 'missing', () => s.at('nope.qrels')],
    ['--qrels', 'a folder', () => s.dir],
  ])('%s %s is one line naming it (was: Node crash dump)', async (flag, _what, file) => {
    const args = { '--run': RUN, '--qrels': QRELS, [flag]: file() };
    expectOneLineError(await runCli(['eval', 'metrics', '--qrels', args['--qrels'], '--run', args['--run']]), file());
  });

  it.each([['run', () => s.file('empty.trec', '')], ['qrels', () => s.file('empty.qrels', '')]])('an empty %s is not silently all zeros: stderr names the file', async (which, file) => {
    const empty = file();
    const r = await runCli(['eval', 'metrics', '--qrels', which === 'qrels' ? empty : QRELS, '--run', which === 'run' ? empty : RUN]);
    expectNoNoise(r.stderr);
    expect(r.stderr).toContain(empty);
  });

  it("--measures ',' is refused naming the flag (was: an empty table, exit 0)", async () => {
    expectOneLineError(await runCli(['eval', 'metrics', '--qrels', QRELS, '--run', RUN, '--measures', ',']), '--measures');
  });

  it('compare: a missing --a is one line naming it', async () => {
    expectOneLineError(await runCli(['eval', 'compare', '--qrels', QRELS, '--a', s.at('nope-a.trec'), '--b', RUN]), s.at('nope-a.trec'));
  });

  it('compare: --min-rel abc is refused', async () => {
    expectOneLineError(await runCli(['eval', 'compare', '--qrels', QRELS, '--a', RUN, '--b', RUN, '--min-rel', 'abc']), '--min-rel');
  });
});

describe.concurrent('eval bm25', () => {
  const bm25 = (out: string, ...more: string[]) => runCli(['eval', 'bm25', '--collection', collection, '--queries', queries, '--out', out, ...more]);

  it.each([
    ['--k', 'abc'], ['--k', '0'], ['--k', '-2'], ['--k', '1.5'],
    ['--k1', 'abc'], ['--k1', '-1'], ['--b', 'abc'], ['--b', '2'],
  ])('%s %s is refused naming the flag (was: empty run, NaN scores or a stack)', async (flag, v) => {
    const out = s.at(`bm25-${flag.slice(2)}-${v}.trec`);
    expectOneLineError(await bm25(out, '--k', '3', flag, v), new RegExp(`${flag}\\b`));
    expect(existsSync(out)).toBe(false);
  });

  it('a queries file with a blank last line is accepted (was: fatal "got 1 column")', async () => {
    const q = s.file('queries-blank.tsv', 'a\tmanhattan project\n\n');
    expectOk(await runCli(['eval', 'bm25', '--collection', collection, '--queries', q, '--out', s.at('blank.trec'), '--k', '3']));
  });

  it('--out a folder is one line naming it, and leaves no temp file (was: EISDIR stack and .NAME.tmp-PID-TS)', async () => {
    const folder = s.at('out-folder');
    mkdirSync(folder);
    expectOneLineError(await bm25(folder, '--k', '3'), folder);
    expect(leftoverTemps(s.dir)).toEqual([]);
  });

  it('--out under /proc is one line, promptly', async () => {
    expectOneLineError(await runCli(['eval', 'bm25', '--collection', collection, '--queries', queries, '--out', '/proc/margin-mse.trec', '--k', '3'], { timeoutMs: 90_000 }), '/proc/margin-mse.trec');
  });

  it('--out below a file is one line naming it (was: ENOTDIR stack)', async () => {
    const file = s.file('a-file', 'x\n');
    expectOneLineError(await bm25(`${file}/run.trec`, '--k', '3'), file);
  });

  it('--out on a full device is one line saying so, and the link to it is kept (was: "wrote", the link replaced by a file)', async () => {
    const link = s.at('full.trec');
    symlinkSync('/dev/full', link);
    expectOneLineError(await bm25(link, '--k', '3'), link, /space|ENOSPC/i);
    expect(lstatSync(link).isSymbolicLink() && readlinkSync(link) === '/dev/full').toBe(true);
  });

  it('--out equal to --queries is refused, the queries kept (was: queries overwritten by the run)', async () => {
    const q = s.file('queries-same.tsv', 'a\tmanhattan project\n');
    expectOneLineError(await runCli(['eval', 'bm25', '--collection', collection, '--queries', q, '--out', q, '--k', '3']), q);
    expect(readFileSync(q, 'utf8')).toBe('a\tmanhattan project\n');
  });
});

describe.concurrent('eval report', () => {
  const report = (out: string, ...more: string[]) => runCli(['eval', 'report', '--out', out, '--query-set', `dl19=${QRELS}@2`, ...more]);

  it.each(['abc', '2', '0'])('--alpha %s is refused naming the flag (was: exit 0)', async (v) => {
    expectOneLineError(await report(s.at(`rep-alpha-${v}`), '--run', `BM25:bm25:dl19=${RUN}`, '--alpha', v), '--alpha');
  });

  it('a missing run file is one line naming it', async () => {
    expectOneLineError(await report(s.at('rep-missing'), '--run', `BM25:bm25:dl19=${s.at('nope.trec')}`), s.at('nope.trec'));
  });

  it('a run of an unknown query set is one line naming it and the known ones (was: Error stack)', async () => {
    expectOneLineError(await report(s.at('rep-unknown'), '--run', `BM25:bm25:dl20=${RUN}`), 'dl20', 'dl19');
  });

  it('--query-set NAME=QRELS@abc is one line naming the flag (was: Node crash dump of the qrels "file" q@abc)', async () => {
    expectOneLineError(await runCli(['eval', 'report', '--out', s.at('rep-at'), '--query-set', `dl19=${QRELS}@abc`, '--run', `BM25:bm25:dl19=${RUN}`]), '--query-set');
  });

  it('--out under /proc is one line, promptly (was: a hang in recursive mkdir)', async () => {
    expectOneLineError(await runCli(['eval', 'report', '--out', '/proc/margin-mse-report', '--query-set', `dl19=${QRELS}@2`, '--run', `BM25:bm25:dl19=${RUN}`], { timeoutMs: 90_000 }), '/proc/margin-mse-report');
  });

  it('--out a file is one line naming it', async () => {
    const file = s.file('report-file', 'x\n');
    expectOneLineError(await report(file, '--run', `BM25:bm25:dl19=${RUN}`), file);
  });

  it("report.svg labels the student's re-ranking and retrieval bars in full (was: both 'BERT_Dot (tiny, Ma…')", async () => {
    const out = s.at('rep-legend');
    const student = 'BERT_Dot (tiny, Margin-MSE)';
    const other = s.file('retrieval.trec', readFileSync(RUN, 'utf8').split('\n').slice(0, 2000).join('\n') + '\n');
    expectExit0(await report(out, '--run', `BM25:bm25:dl19=${RUN}`, '--run', `${student}:rerank:dl19=${RUN}`, '--run', `${student}:retrieval:dl19=${other}`));
    const texts = [...readFileSync(path.join(out, 'report.svg'), 'utf8').matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts.filter((t) => t.includes('…'))).toEqual([]);
    const labels = texts.filter((t) => t.includes('BERT_Dot'));
    expect(labels.some((t) => t.includes('rerank') || t.includes('re-rank'))).toBe(true);
    expect(labels.some((t) => t.includes('retrieval'))).toBe(true);
  });

  it('two runs with the same SYSTEM:MODE:QUERYSET are refused (was: two indistinguishable rows)', async () => {
    const other = s.file('other.trec', readFileSync(RUN, 'utf8').split('\n').slice(0, 50).join('\n') + '\n');
    expectOneLineError(await report(s.at('rep-dup'), '--run', `BM25:bm25:dl19=${RUN}`, '--run', `BM25:bm25:dl19=${other}`), 'BM25');
  });
});

describe.concurrent('eval rerank', () => {
  const rerank = (out: string, ...more: string[]) => runCli(['eval', 'rerank', ...student('--collection', collection, '--queries', queries, '--run', candidates, '--out', out, ...more)]);

  it.each([['--depth', '0'], ['--depth', 'abc'], ['--depth', '-3'], ['--batch-size', '0'], ['--batch-size', 'abc']])(
    '%s %s is refused naming the flag (was: an empty or cut run with "wrote", or a tfjs stack)',
    async (flag, v) => {
      const out = s.at(`rr-${flag.slice(2)}-${v}.trec`);
      expectOneLineError(await rerank(out, flag, v), flag);
      expect(existsSync(out)).toBe(false);
    },
  );

  it('--backend gpu is one line listing the backends (was: TypeError stack)', async () => {
    expectOneLineError(await rerank(s.at('rr-gpu.trec'), '--backend', 'gpu'), '--backend', 'wasm');
  });

  it('a candidate not in the collection is one line naming the run file, line and pid (was: Error stack)', async () => {
    const run = s.file('unknown-pid.trec', `a Q0 ${pids[0]} 1 2 x\na Q0 9999999 2 1 x\n`);
    expectOneLineError(await rerank(s.at('rr-pid.trec'), '--run', run), `${run}:2`, '9999999');
  });

  it('a candidate query without text is one line naming the query and the queries file (was: Error stack)', async () => {
    const run = s.file('unknown-qid.trec', `zz Q0 ${pids[0]} 1 2 x\n`);
    expectOneLineError(await rerank(s.at('rr-qid.trec'), '--run', run), 'zz', queries);
  });

  it('a passage length past the model\'s positions is one line naming both (was: Error stack from the transformer)', async () => {
    expectOneLineError(await rerank(s.at('rr-long.trec'), '--set', 'data.passage_max_length=600'), 'passage_max_length', 'max_position_embeddings');
  });

  it('a model folder without vocab.txt, and no --vocab, is one line saying to pass --vocab (was: ENOENT of MODEL/vocab.txt)', async () => {
    const r = await runCli(['eval', 'rerank', '--model', MODEL, '--backend', 'cpu', '--collection', collection, '--queries', queries, '--run', candidates, '--out', s.at('rr-no-vocab.trec')]);
    expectOneLineError(r, MODEL, '--vocab bert-base-uncased');
  });

  it('--vocab bert-base-uncased, the bundled name the data commands accept, works (was: ENOENT)', async () => {
    const out = s.at('rr-named-vocab.trec');
    const r = await runCli(['eval', 'rerank', ...student('--vocab', 'bert-base-uncased', '--collection', collection, '--queries', queries, '--run', candidates, '--out', out)]);
    expectExit0(r);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2 * pids.length);
    expectOk(r);
  });
});

describe.concurrent('eval encode', () => {
  const encode = (out: string, ...more: string[]) => runCli(['eval', 'encode', ...student('--collection', collection, '--out', out, ...more)]);

  it.each(['0', 'abc', '-4'])('--shard-size %s is refused naming the flag (was: one shard, exit 0)', async (v) => {
    expectOneLineError(await encode(s.at(`idx-size-${v}`), '--shard-size', v), '--shard-size');
  });

  it('--dtype int8 is one line naming the flag and its choices (was: the whole help text)', async () => {
    expectOneLineError(await encode(s.at('idx-int8'), '--dtype', 'int8'), '--dtype', 'float16');
  });

  it('a missing --collection is one line naming it (was: Node crash dump)', async () => {
    expectOneLineError(await runCli(['eval', 'encode', ...student('--collection', s.at('nope.tsv'), '--out', s.at('idx-nope'))]), s.at('nope.tsv'));
  });

  it('resuming with other settings is one line naming the manifest (was: Error stack)', async () => {
    const copy = s.at('idx-settings');
    cpSync(index, copy, { recursive: true });
    expectOneLineError(await encode(copy, '--shard-size', '5'), path.join(copy, 'manifest.json'));
  });

  it('--out under /proc is one line, promptly (was: a hang)', async () => {
    expectOneLineError(await encode('/proc/margin-mse-index', '--shard-size', '8'), '/proc/margin-mse-index');
  });

  it('--out a file is one line naming it', async () => {
    const file = s.file('index-file', 'x\n');
    expectOneLineError(await encode(file, '--shard-size', '8'), file);
  });

  it('weights changed in place between shards are refused (was: an index of two models)', async () => {
    const model = s.at('model-in-place');
    cpSync(MODEL, model, { recursive: true });
    const out = s.at('idx-two-models');
    const args = (part: string) => ['eval', 'encode', ...student('--model', model, '--collection', collection, '--out', out, '--shard-size', '8', '--shard', part)];
    expectExit0(await runCli(args('0/2')));
    cpSync(path.join(otherModel, 'model.safetensors'), path.join(model, 'model.safetensors'));
    expectOneLineError(await runCli(args('1/2')), out);
  });
});

describe.concurrent('eval retrieve', () => {
  const retrieve = (out: string, ...more: string[]) => runCli(['eval', 'retrieve', ...student('--index', index, '--queries', queries, '--out', out, ...more)]);

  it.each(['0', 'abc', '-1'])('-k %s is refused naming the flag (was: empty run, or a RangeError stack)', async (v) => {
    const out = s.at(`ret-k-${v}.trec`);
    expectOneLineError(await retrieve(out, '--k', v), /-k\b/);
    expect(existsSync(out)).toBe(false);
  });

  it.each([['missing', () => s.at('no-index')], ['a file', () => s.file('index-as-file', 'x\n')]])('--index %s is one line naming it (was: ENOENT/ENOTDIR stack)', async (_what, dir) => {
    const d = dir();
    expectOneLineError(await runCli(['eval', 'retrieve', ...student('--index', d, '--queries', queries, '--out', s.at('ret-noidx.trec'))]), d);
  });

  it('another model of the same width is refused, naming the index (was: a run of nonsense)', async () => {
    const out = s.at('ret-other.trec');
    const r = await runCli(['eval', 'retrieve', ...student('--model', otherModel, '--index', index, '--queries', queries, '--out', out)]);
    expectOneLineError(r, index);
    expect(existsSync(out)).toBe(false);
  });

  it('an incomplete index is one line saying which shards are missing', async () => {
    const part = s.at('idx-part');
    expectExit0(await runCli(['eval', 'encode', ...student('--collection', collection, '--out', part, '--shard-size', '8', '--shard', '0/2')]));
    expectOneLineError(await runCli(['eval', 'retrieve', ...student('--index', part, '--queries', queries, '--out', s.at('ret-part.trec'))]), part, /shard|incomplete/);
  });
});
