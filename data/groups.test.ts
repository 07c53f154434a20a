import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { tempFiles } from '../common/testing.js';
import { DataConfig, type GroupsConfig } from './config.js';
import { prepare } from './prepare.js';
import { COLLECTION, allBatches, fixture, tokenRow as row } from './testing.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import { loadIdText } from './tsv.js';

const files = tempFiles('groups-');
const PIDS = readFileSync(COLLECTION, 'utf8').trimEnd().split('\n').map((l) => l.split('\t')[0]);
let tok: Tokenizer;
let passages: Map<string, string>;

beforeAll(async () => {
  tok = await loadTokenizer(sharedPath('data', 'vocab', 'bert-base-uncased-vocab.txt'));
  passages = await loadIdText(COLLECTION);
});

/** The data section of cache `name` (the 20 queries 1000..1019 over the 89 sample passages) with these groups. */
function config(name: string, groups: Record<string, unknown>, extra: Partial<DataConfig> = {}): DataConfig {
  return DataConfig.parse({ ...fixture(files, name), groups, ...extra });
}

/** Query 1000 + q's run: 10 passages, pid PIDS[q * 10 + r] scored 100 q + 10 - r (distinct scores). */
const runLines = (q: number) => Array.from({ length: 10 }, (_, r) => `${1000 + q} Q0 ${PIDS[q * 10 + r]} ${r + 1} ${100 * q + 10 - r} cat\n`).join('');
const score = new Map(Array.from({ length: 60 }, (_, i) => [PIDS[i], 100 * Math.floor(i / 10) + 10 - (i % 10)]));

describe('groups from a teacher run and qrels', () => {
  // Queries 0..3 have qrels; query 3's second positive is not in the run; query 4 has no qrels at all.
  const run = files([0, 1, 2, 3, 4].map(runLines).join(''), 'run.trec');
  const qrels = files(
    [`1000 0 ${PIDS[3]} 1`, `1000 0 ${PIDS[5]} 0`, `1001 0 ${PIDS[10]} 1`, `1001 0 ${PIDS[19]} 2`, `1002 0 ${PIDS[27]} 1`, `1003 0 ${PIDS[30]} 1`, `1003 0 ${PIDS[88]} 1`]
      .map((l) => `${l}\n`)
      .join(''),
    'qrels.tsv',
  );
  const positives = new Map([['1000', [PIDS[3]]], ['1001', [PIDS[10], PIDS[19]]], ['1002', [PIDS[27]]], ['1003', [PIDS[30]]]]);
  const groups = { source: 'teacher-run', run, qrels, negatives: 3, per_query: 2 };

  it('stores per query its judged positives and K negatives from the run with the run\'s scores; batches are [B] x [1 + K]', async () => {
    const cfg = config('run', groups);
    const { manifest } = await prepare(cfg);
    expect(manifest.groups).toMatchObject({ rows: 8, size: 4 });
    expect(manifest.has_teacher).toBe(true);
    // Counted skips, whatever on_bad_line says: a judged positive absent from the run, a run query without qrels.
    expect(manifest.skipped.positives_not_in_run).toMatchObject({ count: 1 });
    expect(manifest.skipped.positives_not_in_run.examples[0].reason).toBe(`${run}:31: expected judged positive ${PIDS[88]} of query 1003 in the run, got missing`);
    expect(manifest.skipped.queries_without_qrels).toMatchObject({ count: 1 });

    const [b] = await allBatches(cfg.cache_dir, { batchSize: 8, seed: 1, shuffleBuffer: 1, prefetch: 1 });
    expect(b).toMatchObject({ size: 8, group: 4, hasTeacher: true, passages: { rows: 32 } });
    const byText = new Map([...passages].map(([pid, text]) => [Array.from(tok.encode(text, 64)).join(','), pid]));
    const seen = new Map<string, string[][]>();
    for (let i = 0; i < 8; i++) {
      const qid = String(1000 + Math.floor(i / 2)); // file order: per_query groups of each query in turn
      expect(row(b.queries, i)).toEqual(Array.from(tok.encode(`query number ${Number(qid) - 1000} about the manhattan project`, 8)));
      const pids = [0, 1, 2, 3].map((j) => byText.get(row(b.passages, i * 4 + j).join(','))!);
      expect(Array.from(b.teacher.subarray(i * 4, i * 4 + 4))).toEqual(pids.map((p) => score.get(p)));
      expect(positives.get(qid)).toContain(pids[0]);
      const q = Number(qid) - 1000;
      for (const n of pids.slice(1)) {
        expect(PIDS.slice(q * 10, q * 10 + 10)).toContain(n); // from the query's run
        expect(positives.get(qid)).not.toContain(n); // never a judged positive
      }
      expect(new Set(pids).size).toBe(4);
      seen.set(qid, [...(seen.get(qid) ?? []), pids]);
    }
    // Two positives take turns over a query's groups.
    expect(new Set(seen.get('1001')!.map((g) => g[0]))).toEqual(new Set([PIDS[10], PIDS[19]]));
  });

  it('samples deterministically from the seed: same seed same groups, another seed other negatives', async () => {
    const shards = async (name: string, seed: number) => {
      const cfg = config(name, { ...groups, seed });
      const { manifest } = await prepare(cfg);
      return manifest.groups.shards.map((s) => readFileSync(path.join(cfg.cache_dir, s.file)).toString('base64')).join();
    };
    const a = await shards('seed-a', 1);
    expect(await shards('seed-b', 1)).toBe(a);
    expect(await shards('seed-c', 2)).not.toBe(a);
  });

  it('a query with fewer than K negatives is an error naming the run and its line, or a counted skip', async () => {
    const cfg = config('few', { ...groups, negatives: 9 }); // query 1001 has 2 positives: 8 negatives
    await expect(prepare(cfg)).rejects.toThrow(`${run}:11: expected at least 9 negatives (data.groups.negatives) for query 1001, got 8`);
    const { manifest } = await prepare({ ...cfg, on_bad_line: 'skip' });
    expect(manifest.groups.rows).toBe(6);
    expect(manifest.skipped.groups).toMatchObject({ count: 1 });
  });

  it('bad run lines: a pid twice for a query, a missing score, a query split in two; a run without scores', async () => {
    const dup = files(runLines(0) + `1000 Q0 ${PIDS[2]} 11 -5 cat\n` + runLines(1), 'dup.trec');
    await expect(prepare(config('dup', { ...groups, run: dup }))).rejects.toThrow(`${dup}:11: expected each pid once per query, got ${PIDS[2]} again for query 1000`);
    const { manifest } = await prepare(config('dup-skip', { ...groups, run: dup }, { on_bad_line: 'skip' }));
    expect(manifest.skipped.groups).toMatchObject({ count: 1 });
    expect(manifest.groups.rows).toBe(4);

    const noScore = files(runLines(0).replace(' 10 cat\n', ' x cat\n'), 'noscore.trec');
    await expect(prepare(config('noscore', { ...groups, run: noScore }))).rejects.toThrow(`${noScore}:1: expected a finite teacher score (column 5), got "x"`);
    const big = files(runLines(0).replace(' 10 cat\n', ' 1e39 cat\n'), 'big.trec'); // finite in float64, Infinity in the float32 cache
    await expect(prepare(config('big', { ...groups, run: big }))).rejects.toThrow(`${big}:1: expected a finite teacher score (column 5), got "1e39"`);
    const msmarco = files(`1000\t${PIDS[0]}\t1\n`, 'msmarco.tsv');
    await expect(prepare(config('msmarco', { ...groups, run: msmarco }))).rejects.toThrow(
      `${msmarco}:1: expected a TREC run line with the teacher's score, \`qid Q0 pid rank score tag\` (6 columns), got 3 columns`,
    );
    const split = files(runLines(0) + runLines(1) + runLines(0), 'split.trec');
    await expect(prepare(config('split', { ...groups, run: split }, { on_bad_line: 'skip' }))).rejects.toThrow(
      `${split}:21: expected the lines of query 1000 together (sort the run by query), got more of them after another query`,
    );
  });
});

describe('groups from JSON lines', () => {
  const good = [
    { qid: 1000, pos: [[PIDS[0], 9.5]], neg: [[PIDS[1], 1], [PIDS[2], 2], [PIDS[3], 3]] },
    { qid: '1001', pos: [[Number(PIDS[4]), 8]], neg: [[PIDS[5], -1], [PIDS[6], -2]] },
  ];
  const jsonl = (lines: unknown[]) => files(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  const groups = (file: string) => ({ source: 'jsonl', file, negatives: 2 }) satisfies Partial<GroupsConfig>;

  it('reads a query per line; K negatives drawn from the listed ones, scores as given', async () => {
    const cfg = config('jsonl', groups(jsonl(good)));
    const { manifest } = await prepare(cfg);
    expect(manifest.groups).toMatchObject({ rows: 2, size: 3 });
    const [b] = await allBatches(cfg.cache_dir, { batchSize: 2, seed: 1, shuffleBuffer: 1, prefetch: 1 });
    expect(Array.from(b.teacher.subarray(0, 1))).toEqual([9.5]);
    const negs = Array.from(b.teacher.subarray(1, 3));
    expect(new Set(negs).size).toBe(2);
    expect([1, 2, 3]).toEqual(expect.arrayContaining(negs));
    expect(b.teacher[3]).toBe(8);
    expect(Array.from(b.teacher.subarray(4, 6)).sort()).toEqual([-1, -2]); // K of K: all, in draw order
    expect(row(b.passages, 3)).toEqual(Array.from(tok.encode(passages.get(PIDS[4])!, 64)));
  });

  const bad: [string, unknown, RegExp][] = [
    ['a pid twice', { qid: 1002, pos: [[PIDS[7], 1]], neg: [[PIDS[8], 0], [PIDS[7], 0]] }, /:3: expected each pid once per line, got pid \S+ again in neg\[1\]/],
    ['a missing score', { qid: 1002, pos: [[PIDS[7], 1]], neg: [[PIDS[8]], [PIDS[9], 0]] }, /:3: expected neg\[0\] as \[pid, score\] with a finite teacher score, got "\[\\"\S+\\"\]"/],
    ['a null score', { qid: 1002, pos: [[PIDS[7], null]], neg: [[PIDS[8], 0], [PIDS[9], 0]] }, /:3: expected pos\[0\] as \[pid, score\] with a finite teacher score/],
    ['a score beyond float32', { qid: 1002, pos: [[PIDS[7], 1e39]], neg: [[PIDS[8], 0], [PIDS[9], 0]] }, /:3: expected pos\[0\] as \[pid, score\] with a finite teacher score, got "\[\\"\S+\\",1e\+39\]"/],
    ['K too small for the query', { qid: 1002, pos: [[PIDS[7], 1]], neg: [[PIDS[8], 0]] }, /:3: expected at least 2 negatives \(data\.groups\.negatives\) for query 1002, got 1/],
    ['no positive', { qid: 1002, pos: [], neg: [[PIDS[8], 0], [PIDS[9], 0]] }, /:3: expected "pos" as a non-empty list of \[pid, score\] pairs, got "\[\]"/],
    ['an unknown pid', { qid: 1002, pos: [['999999', 1]], neg: [[PIDS[8], 0], [PIDS[9], 0]] }, /:3: expected a pid present in .*collection.sample.tsv, got pid 999999/],
    ['an unknown qid', { qid: 77, pos: [[PIDS[7], 1]], neg: [[PIDS[8], 0], [PIDS[9], 0]] }, /:3: expected a qid present in .*, got qid 77/],
    ['not JSON', '{"qid": 1002, "pos": [[', /:3: expected a JSON object \{"qid": \.\.\., "pos": \[\[pid, score\], \.\.\.\], "neg": \[\[pid, score\], \.\.\.\]\}, got "\{\\"qid/],
  ];
  for (const [what, line, message] of bad) {
    it(`${what}: an error naming file and line, or a counted skip`, async () => {
      const file = jsonl([...good, line]);
      await expect(prepare(config(`bad-${what}`, groups(file)))).rejects.toThrow(new RegExp(`^${file}${message.source}`));
      const { manifest } = await prepare(config(`skip-${what}`, groups(file), { on_bad_line: 'skip' }));
      expect(manifest.groups.rows).toBe(2);
      expect(manifest.skipped.groups.count).toBe(1);
      expect(manifest.skipped.groups.examples[0].line).toBe(3);
    });
  }
});
