import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { generate, type DatasetFiles } from '../quickstart/generate.js';
import { expectExit0, expectOk, expectOneLineError, linesOf, runCli, scratch } from './testing.js';

/**
 * `margin-mse data ...` as a user runs it, on bad input (issue 16): every failure one clear line, no silent
 * wrong answer, no file of the user's lost. One generated MS MARCO-shaped dataset and one prepared cache serve
 * every case.
 */
vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 }); // cases wait for a CLI slot (cli/testing.ts)
const s = scratch('data-errors-');
let f: DatasetFiles;
let cache: string;
const inputs = () => [
  `--set`, `data.collection=${f.collection}`, `--set`, `data.queries=${f.queriesTrain}`,
  `--set`, `data.triples=${f.trainScores}`, `--set`, 'data.triples_format=ids-scores',
];
const prepare = (...extra: string[]) => runCli(['data', 'prepare', '--config', 'configs/tiny.yaml', ...inputs(), ...extra]);

beforeAll(async () => {
  f = await generate(s.at('data'), { topics: 20, passagesPerTopic: 2, extraPassages: 10, trainQueries: 30, devQueries: 5, valQueries: 5, bm25Depth: 10, triplesPerQuery: 2 });
  cache = s.at('cache');
  expectExit0(await prepare('--set', `data.cache_dir=${cache}`));
});

describe.concurrent('data tokenize', () => {
  const text = () => s.file('text.txt', 'hello world\n');

  it('a missing --input is one line naming the file', async () => {
    expectOneLineError(await runCli(['data', 'tokenize', '--input', s.at('nope.txt')]), s.at('nope.txt'));
  });

  it('a folder as --input is one line naming it', async () => {
    mkdirSync(s.at('a-folder'), { recursive: true });
    expectOneLineError(await runCli(['data', 'tokenize', '--input', s.at('a-folder')]), s.at('a-folder'));
  });

  it('an unreadable --input is one line naming it', async () => {
    const secret = s.file('secret.txt', 'hello\n');
    chmodSync(secret, 0o600);
    chmodSync(s.dir, 0o755);
    expectOneLineError(await runCli(['data', 'tokenize', '--input', secret], { asNobody: true }), secret);
  });

  it.each(['abc', '0', '-3', '1.5'])('--max-length %s is refused naming the flag (was: empty tokens, or a RangeError stack)', async (v) => {
    const r = await runCli(['data', 'tokenize', '--input', text(), '--special', '--max-length', v]);
    expectOneLineError(r, '--max-length');
    expect(r.stdout).toBe('');
  });

  it('invalid UTF-8 on stdin is an error naming the line, as it is with --input (was: silently dropped)', async () => {
    const r = await runCli(['data', 'tokenize'], { input: Buffer.from('hello\xff world\n', 'latin1') });
    expectOneLineError(r, ':1', 'UTF-8');
  });

  it('a --vocab name that is not bundled is one line naming it and the bundled ones (was: a missing file inside the package)', async () => {
    const r = await runCli(['data', 'tokenize', '--vocab', 'bert-large-cased'], { input: 'hello\n' });
    expectOneLineError(r, 'bert-large-cased', 'bert-base-uncased');
    expect(r.stderr).not.toContain('data/vocab/');
  });
});

describe.concurrent('data prepare', () => {
  it('refuses a cache_dir that is a folder of the user (was: its files deleted)', async () => {
    const mine = s.at('my-folder');
    mkdirSync(mine, { recursive: true });
    writeFileSync(path.join(mine, 'thesis.tex'), 'precious\n');
    expectOneLineError(await prepare('--set', `data.cache_dir=${mine}`), mine);
    expect(readFileSync(path.join(mine, 'thesis.tex'), 'utf8')).toBe('precious\n');
  });

  it('refuses a cache_dir that is a file (was: the file replaced by the cache folder)', async () => {
    const notes = s.file('notes.txt', 'keep me\n');
    expectOneLineError(await prepare('--set', `data.cache_dir=${notes}`), notes);
    expect(readFileSync(notes, 'utf8')).toBe('keep me\n');
  });

  it('a cache_dir under /proc is one line, promptly (was: ENOENT stack for the lock file)', async () => {
    const r = await runCli(['data', 'prepare', '--config', 'configs/tiny.yaml', ...inputs(), '--set', 'data.cache_dir=/proc/margin-mse-cache'], { timeoutMs: 90_000 });
    expectOneLineError(r, '/proc/margin-mse-cache');
  });

  it('a cache_dir below a file is one line (was: EEXIST/ENOTDIR stack)', async () => {
    const file = s.file('plain-file', 'x\n');
    expectOneLineError(await prepare('--set', `data.cache_dir=${file}/cache`), file);
  });

  it('a teacher score beyond float32 (1e39) is a bad line naming file:line (was: cached as +Infinity)', async () => {
    const lines = readFileSync(f.trainScores, 'utf8').trim().split('\n');
    const [, neg, ...ids] = lines[0].split('\t');
    const big = s.file('scores-1e39.tsv', [['1e39', neg, ...ids].join('\t'), ...lines.slice(1)].join('\n') + '\n');
    expectOneLineError(await prepare('--set', `data.triples=${big}`, '--set', `data.cache_dir=${s.at('cache-1e39')}`), `${big}:1`);
  });

  it('accepts a blank last line in the triples and the collection (was: fatal "got 1 column")', async () => {
    const triples = s.file('triples-blank.tsv', `${readFileSync(f.trainScores, 'utf8').trimEnd()}\n\n`);
    const collection = s.file('collection-blank.tsv', `${readFileSync(f.collection, 'utf8').trimEnd()}\n\n`);
    const r = await prepare('--set', `data.triples=${triples}`, '--set', `data.collection=${collection}`, '--set', `data.cache_dir=${s.at('cache-blank')}`);
    expectOk(r);
    expect(r.stdout).toMatch(/triples 60\b/);
  });

  it('an ids-scores file read as text-scores is refused, naming the file and its form (was: ids taken as text)', async () => {
    const r = await prepare('--set', 'data.triples_format=text-scores', '--set', `data.cache_dir=${s.at('cache-as-text')}`);
    expectOneLineError(r, f.trainScores, 'ids-scores');
  });

  it('a --set value that is not YAML is one line naming the --set (was: YAMLParseError stack)', async () => {
    expectOneLineError(await prepare('--set', 'data.query_max_length=[1,'), '--set', 'data.query_max_length');
  });

  it.each(['__proto__.x=1', 'data.__proto__.x=1'])('--set %s is refused naming the segment (was: Object.prototype polluted)', async (set) => {
    const r = await prepare('--set', set);
    expectOneLineError(r, /__proto__|prototype/);
    expect(r.stderr).not.toMatch(/unknown key 'run\.x'/);
  });

  it('a shard corrupted in place (same size) is not reused: rebuilt, or one line naming it (docs/data.md: content is checked)', async () => {
    const copy = s.at('cache-corrupt');
    cpSync(cache, copy, { recursive: true });
    const shard = path.join(copy, 'passages-00000.arrow');
    const original = readFileSync(shard);
    const bytes = Buffer.from(original);
    // Token ids are uint16 here: the first token of passage 0 ("this" = 2023) followed by "way" (2126).
    const at = bytes.indexOf(Buffer.from([0xe7, 0x07, 0x4e, 0x08]));
    expect(at).toBeGreaterThan(0);
    bytes.writeUInt16LE(0xffff, at + 2); // an id past the 30522-token vocabulary
    writeFileSync(shard, bytes);
    const r = await prepare('--set', `data.cache_dir=${copy}`);
    if (r.code === 0) {
      expectOk(r);
      expect(r.stdout).not.toMatch(/up to date/);
      expect(readFileSync(shard).equals(original)).toBe(true);
    } else {
      expectOneLineError(r, 'passages-00000.arrow', /prepare|rebuild/);
    }
  });

  it('progress shows a believable rate and the final count (was: 1e13 rows/s on the first tick, 10000 of 19200)', async () => {
    const big = await generate(s.at('big'), {});
    const r = await runCli(['data', 'prepare', '--config', 'configs/tiny.yaml',
      '--set', `data.collection=${big.collection}`, '--set', `data.queries=${big.queriesTrain}`, '--set', `data.triples=${big.trainScores}`,
      '--set', 'data.triples_format=ids-scores', '--set', `data.cache_dir=${s.at('cache-big')}`]);
    expectOk(r);
    const rows = Number(/triples (\d+)/.exec(r.stdout)![1]);
    const ticks = linesOf(r.stderr).flatMap((l) => {
      const m = /^prepare triples: (\d+)(?:\/\d+)? rows \| ([\d.e+]+) rows\/s/.exec(l);
      return m ? [{ done: Number(m[1]), rate: Number(m[2]) }] : [];
    });
    expect(ticks.length).toBeGreaterThan(0);
    for (const t of ticks) expect(t.rate, `a tokenizer does not prepare ${t.rate} rows/s`).toBeLessThan(1e7);
    expect(ticks.at(-1)!.done).toBe(rows);
  });
});

describe.concurrent('data inspect', () => {
  it.each(['abc', '-2'])('--rows %s is refused naming the flag (was: exit 0, flag ignored)', async (v) => {
    expectOneLineError(await runCli(['data', 'inspect', '--cache', cache, '--rows', v]), '--rows');
  });
});
