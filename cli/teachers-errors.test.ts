import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { generate, type DatasetFiles } from '../quickstart/generate.js';
import { expectExit0, expectOneLineError, leftoverTemps, runCli, scratch } from './testing.js';

/**
 * `margin-mse teachers ...` as a user runs it (issue 16): two teacher score files made from a generated
 * dataset's ids-scores triples; `score` with the tiny BERT_Cat golden on the cpu backend.
 */
vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 }); // cases wait for a CLI slot (cli/testing.ts)
const s = scratch('teachers-errors-');
const CAT = sharedPath('goldens/bert-cat-tiny');
const VOCAB = sharedPath('data/vocab/bert-base-uncased-vocab.txt');
let f: DatasetFiles;
let teacherA: string;
let teacherB: string;
let triples: string;
let rows: string[];

beforeAll(async () => {
  f = await generate(s.at('data'), { topics: 20, passagesPerTopic: 2, extraPassages: 10, trainQueries: 30, devQueries: 5, valQueries: 5, bm25Depth: 10, triplesPerQuery: 2 });
  rows = readFileSync(f.trainScores, 'utf8').trim().split('\n');
  teacherA = s.file('teacher-bert-base-uncased-msmarco-a.tsv', `${rows.join('\n')}\n`);
  teacherB = s.file('teacher-bert-large-uncased-msmarco-b.tsv', `${rows.map((l) => l.split('\t').map((c, i) => (i < 2 ? String(Number(c) + 0.5) : c)).join('\t')).join('\n')}\n`);
  triples = s.file('triples.ids.tsv', `${rows.slice(0, 6).map((l) => l.split('\t').slice(2).join('\t')).join('\n')}\n`);
});

describe.concurrent('teachers ensemble', () => {
  const ensemble = (out: string, ...more: string[]) => runCli(['teachers', 'ensemble', '--in', teacherA, '--in', teacherB, '--out', out, ...more]);

  it('--out equal to an --in is refused, the teacher file kept (was: the teacher overwritten by the mean)', async () => {
    const a = s.file('a-copy.tsv', readFileSync(teacherA));
    const before = readFileSync(a, 'utf8');
    expectOneLineError(await runCli(['teachers', 'ensemble', '--in', a, '--in', teacherB, '--out', a]), a);
    expect(readFileSync(a, 'utf8')).toBe(before);
  });

  it.each([['missing', () => s.at('nope.tsv')], ['a folder', () => s.dir]])('an --in that is %s is one line naming it (was: Node crash dump)', async (_what, file) => {
    expectOneLineError(await runCli(['teachers', 'ensemble', '--in', file(), '--in', teacherB, '--out', s.at('ens-bad-in.tsv')]), file());
  });

  it('a score beyond float32 (1e39) is a bad line naming file:line (was: averaged to 5e+38)', async () => {
    const [, ...rest] = rows[0].split('\t');
    const big = s.file('big.tsv', `${['1e39', ...rest].join('\t')}\n${rows.slice(1).join('\n')}\n`);
    expectOneLineError(await runCli(['teachers', 'ensemble', '--in', big, '--in', teacherB, '--out', s.at('ens-big.tsv')]), `${big}:1`);
  });

  it('--weights abc is refused naming the flag', async () => {
    expectOneLineError(await ensemble(s.at('ens-w.tsv'), '--method', 'weighted', '--weights', 'abc', '1'), '--weights');
  });

  it('--out a folder is one line naming it, and leaves no temp file', async () => {
    const folder = s.at('ens-folder');
    mkdirSync(folder);
    expectOneLineError(await ensemble(folder), folder);
    expect(leftoverTemps(s.dir)).toEqual([]);
  });

  it('--out under /proc is one line (was: Node crash dump)', async () => {
    expectOneLineError(await ensemble('/proc/margin-mse-ensemble.tsv'), '/proc/margin-mse-ensemble.tsv');
  });

  it('--out below a file is one line naming it (was: ENOTDIR stack)', async () => {
    const file = s.file('plain', 'x\n');
    expectOneLineError(await ensemble(`${file}/ens.tsv`), file);
  });

  it('--out on a full device is one line saying so, the link kept (was: "wrote 60 lines", the link replaced)', async () => {
    const link = s.at('ens-full.tsv');
    symlinkSync('/dev/full', link);
    expectOneLineError(await ensemble(link), link, /space|ENOSPC/i);
    expect(lstatSync(link).isSymbolicLink() && readlinkSync(link) === '/dev/full').toBe(true);
  });
});

describe.concurrent('teachers stats', () => {
  const stats = (out: string, ...more: string[]) => runCli(['teachers', 'stats', teacherA, '--out', out, ...more], { timeoutMs: 90_000 });

  it.each([['missing', () => s.at('nope.tsv')], ['a folder', () => s.dir]])('a file that is %s is one line naming it (was: Node crash dump)', async (_what, file) => {
    expectOneLineError(await runCli(['teachers', 'stats', file(), '--out', s.at('st-bad')]), file());
  });

  it.each(['abc', '0', '-5'])('--sample %s is refused naming the flag (was: NaN quantiles, or a RangeError stack)', async (v) => {
    expectOneLineError(await stats(s.at(`st-sample-${v}`), '--sample', v), '--sample');
  });

  it('--out under /proc is one line, promptly (was: a hang in recursive mkdir)', async () => {
    expectOneLineError(await stats('/proc/margin-mse-stats'), '/proc/margin-mse-stats');
  });

  it('--out a file is one line naming it', async () => {
    const file = s.file('stats-file', 'x\n');
    expectOneLineError(await stats(file), file);
  });

  it('an ids-scores file read with --format text-scores is refused naming the file (was: ids taken as texts)', async () => {
    expectOneLineError(await stats(s.at('st-as-text'), '--format', 'text-scores'), teacherA, 'ids-scores');
  });

  it("margins.svg's legend names each file in full (was: truncated to 'teacher-bert-base-…', 'teacher-bert-large…')", async () => {
    const out = s.at('st-legend');
    expectExit0(await runCli(['teachers', 'stats', teacherA, teacherB, '--out', out]));
    const texts = [...readFileSync(path.join(out, 'margins.svg'), 'utf8').matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(texts.filter((t) => t.includes('…'))).toEqual([]);
    for (const file of [teacherA, teacherB]) expect(texts.some((t) => t.includes(path.basename(file, '.tsv')))).toBe(true);
  });
});

describe.concurrent('teachers score', () => {
  const score = (out: string, ...more: string[]) => {
    const flags: Record<string, string> = { '--model': CAT, '--vocab': VOCAB, '--triples': triples, '--collection': f.collection, '--queries': f.queriesTrain, '--backend': 'cpu', '--max-length': '32', '--out': out };
    for (let i = 0; i < more.length; i += 2) flags[more[i]] = more[i + 1];
    return runCli(['teachers', 'score', ...Object.entries(flags).flat()]);
  };

  it.each([['--limit', 'abc'], ['--limit', '-2'], ['--max-length', 'abc'], ['--chunk', '-1']])('%s %s is refused naming the flag (was: all or none scored, or a tfjs stack)', async (flag, v) => {
    const out = s.at(`sc-${flag.slice(2)}-${v}.tsv`);
    expectOneLineError(await score(out, flag, v), flag);
    expect(existsSync(out)).toBe(false);
  });

  it('--backend gpu is one line naming the flag and its choices (was: the whole help text)', async () => {
    expectOneLineError(await score(s.at('sc-gpu.tsv'), '--backend', 'gpu'), '--backend', 'wasm');
  });

  it('missing --triples is one line naming the file (was: Node crash dump)', async () => {
    expectOneLineError(await score(s.at('sc-nope.tsv'), '--triples', s.at('nope-triples.tsv')), s.at('nope-triples.tsv'));
  });

  it('--out under /proc is one line (was: ENOENT stack)', async () => {
    expectOneLineError(await score('/proc/margin-mse-scores.tsv'), '/proc/margin-mse-scores.tsv');
  });

  it.each(['0', 'abc', '-3'])('--run with --depth %s is refused naming the flag', async (v) => {
    const out = s.at(`sc-run-depth-${v}.trec`);
    const r = await runCli(['teachers', 'score', '--model', CAT, '--vocab', VOCAB, '--run', s.at('candidates.trec'), '--collection', f.collection, '--queries', f.queriesTrain, '--depth', v, '--backend', 'cpu', '--out', out]);
    expectOneLineError(r, '--depth');
    expect(existsSync(out)).toBe(false);
  });
});
