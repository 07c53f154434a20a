import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';
import { DataConfig } from '../data/config.js';
import { prepare } from '../data/prepare.js';
import { readRun } from '../data/runs.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { loadIdText } from '../data/tsv.js';
import { loadBertCat } from '../models/bert-cat.js';
import { testBackend } from '../models/engine/testing.js';
import { scorePairs } from './pair-scorer.js';
import { scoreRun } from './score-run.js';

/** A candidate run re-scored by the tiny golden BERT_Cat into a teacher run, and that run as a group source. */
const COLLECTION = sharedPath('data', 'msmarco-sample', 'collection.sample.tsv');
let dir: string;
let model: string;
let queries: string;
let candidates: string;
let pids: string[];

testBackend('wasm');
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'score-run-'));
  model = path.join(dir, 'model');
  await fsp.mkdir(model);
  for (const f of ['config.json', 'model.safetensors']) await fsp.copyFile(sharedPath('goldens', 'bert-cat-tiny', f), path.join(model, f));
  await fsp.copyFile(sharedPath('data', 'vocab', 'bert-base-uncased-vocab.txt'), path.join(model, 'vocab.txt'));
  pids = (await fsp.readFile(COLLECTION, 'utf8')).trimEnd().split('\n').map((l) => l.split('\t')[0]);
  queries = path.join(dir, 'queries.tsv');
  await fsp.writeFile(queries, '1\twho led the manhattan project\n2\twhat is a nuclear reactor\n3\tatomic bomb history\n');
  // 3 queries x 6 candidates (BM25-like scores), the MS MARCO run format
  candidates = path.join(dir, 'candidates.tsv');
  await fsp.writeFile(candidates, [1, 2, 3].flatMap((q) => Array.from({ length: 6 }, (_, r) => `${q}\t${pids[q * 6 + r]}\t${r + 1}\n`)).join(''));
});
afterAll(() => fsp.rm(dir, { recursive: true, force: true }));

describe('teacher run', () => {
  it('re-scores the top `depth` passages of each query with the cross-encoder, as a TREC run that data prepare samples groups from', async () => {
    const out = path.join(dir, 'teacher.trec');
    const r = await scoreRun({ model, run: candidates, queries, collection: COLLECTION, out, depth: 5, batchSize: 4, maxLength: 64, quiet: true });
    expect(r).toMatchObject({ queries: 3, pairs: 15 });
    const run = await readRun(out);
    expect([...run.keys()]).toEqual(['1', '2', '3']);
    // The same pairs scored directly: equal to float noise (other batches, other padding).
    const [tok, cat, qs, ps] = [await loadTokenizer(path.join(model, 'vocab.txt')), await loadBertCat(model), await loadIdText(queries), await loadIdText(COLLECTION)];
    for (const [qid, docs] of run) {
      expect(docs.map((d) => d.docno).sort()).toEqual(pids.slice(Number(qid) * 6, Number(qid) * 6 + 5).sort()); // depth 5 of 6
      const want = await scorePairs(cat, tok, docs.map((d) => [qs.get(qid)!, ps.get(d.docno)!]), { maxLength: 64 });
      docs.forEach((d, i) => expect(Math.abs(d.score - want[i])).toBeLessThan(1e-4));
      expect(new Set(docs.map((d) => d.score)).size).toBe(5);
    }
    cat.dispose();

    // Qrels judging each query's first candidate: groups of it and 3 of the other 4, with the teacher's scores.
    const qrels = path.join(dir, 'qrels.tsv');
    await fsp.writeFile(qrels, [1, 2, 3].map((q) => `${q} 0 ${pids[q * 6]} 1\n`).join(''));
    const data = DataConfig.parse({ collection: COLLECTION, queries, cache_dir: path.join(dir, 'cache'), groups: { source: 'teacher-run', run: out, qrels, negatives: 3 } });
    const { manifest } = await prepare(data);
    expect(manifest.groups).toMatchObject({ rows: 3, size: 4 });
  }, 300_000);

  it('margin-mse teachers score --run through the CLI; --triples and --run together are refused', async () => {
    const out = path.join(dir, 'cli.trec');
    const args = ['--import', 'tsx', 'cli/main.ts', 'teachers', 'score', '--model', model, '--run', candidates, '--queries', queries, '--collection', COLLECTION, '--out', out, '--depth', '2', '--max-length', '64', '--backend', 'wasm'];
    const { stderr } = await promisify(execFile)(process.execPath, args, { cwd: ROOT });
    expect(stderr).toMatch(/scored 6 pairs of 3 queries in .* s; wrote .*cli\.trec/);
    expect((await fsp.readFile(out, 'utf8')).trim().split('\n').map((l) => l.split(' ').length)).toEqual(new Array(6).fill(6));
    const both = await promisify(execFile)(process.execPath, [...args, '--triples', candidates], { cwd: ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect(both).toMatchObject({ code: 1, stderr: expect.stringMatching(/^margin-mse: teachers score: give --triples \(a teacher score file\) or --run \(a teacher run\), not both\n$/) });
  }, 300_000);
});
