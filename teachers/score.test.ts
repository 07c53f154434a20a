import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';
import { testBackend } from '../models/engine/testing.js';
import { scoreTriples } from './score.js';

/**
 * Scoring with the tiny golden BERT_Cat, and resume after the scoring process is killed mid-run:
 * the resumed output must hold the same lines as an uninterrupted run.
 */
let dir: string;
let model: string;
let triples: string;
let reference: string;
const N = 200; // triples (the 100 real sample triples, twice)

const lines = async (f: string) => (await fsp.readFile(f, 'utf8')).split('\n').slice(0, -1);

testBackend('wasm');
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'teachers-score-'));
  model = path.join(dir, 'model');
  await fsp.mkdir(model);
  for (const f of ['config.json', 'model.safetensors']) await fsp.copyFile(sharedPath('goldens', 'bert-cat-tiny', f), path.join(model, f));
  await fsp.copyFile(sharedPath('data', 'vocab', 'bert-base-uncased-vocab.txt'), path.join(model, 'vocab.txt'));
  const sample = await fsp.readFile(sharedPath('data', 'msmarco-sample', 'triples.train.sample.tsv'), 'utf8');
  triples = path.join(dir, 'triples.tsv');
  await fsp.writeFile(triples, sample.repeat(N / 100));
  reference = path.join(dir, 'reference.tsv');
  await scoreTriples({ model, triples, out: reference, batchSize: 32, maxLength: 64, quiet: true });
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('teachers score', () => {
  it('writes one text-scores line per triple, with the same scores for the same pair', async () => {
    const ref = await lines(reference);
    expect(ref).toHaveLength(N);
    const input = await lines(triples);
    ref.forEach((l, i) => {
      const cols = l.split('\t');
      expect(cols.slice(2).join('\t')).toBe(input[i]);
      expect(Number.isFinite(Number(cols[0])) && Number.isFinite(Number(cols[1]))).toBe(true);
    });
    // Repeats of a triple in other batches (other padding) score the same.
    expect(Number(ref[100].split('\t')[0])).toBeCloseTo(Number(ref[0].split('\t')[0]), 4);
    expect(ref[0].split('\t')[0]).not.toBe(ref[0].split('\t')[1]);
  });

  it('resumes after the scoring process is killed, without losing or repeating lines', async () => {
    const out = path.join(dir, 'killed.tsv');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'cli/main.ts'), 'teachers', 'score', '--model', model, '--triples', triples, '--out', out, '--batch-size', '2', '--max-length', '64', '--backend', 'wasm'],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Kill -9 as soon as some batches are on disk.
    for (;;) {
      const n = existsSync(out) ? (await fsp.readFile(out, 'utf8')).split('\n').length - 1 : 0;
      if (n >= 20) break;
      if (child.exitCode !== null) throw new Error(`scoring child exited early (${child.exitCode}): ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await exited;
    const kept = (await lines(out)).length;
    expect(kept).toBeLessThan(N);
    // A torn last line, as a crash in the middle of a write leaves.
    await fsp.appendFile(out, '1.2345\t-0.5\tis a li');

    const s = await scoreTriples({ model, triples, out, batchSize: 32, maxLength: 64, quiet: true });
    expect(s.resumed).toBe(kept);
    expect(s.truncated).toBe('1.2345\t-0.5\tis a li'.length);
    expect(s.lines).toBe(N);
    expect(s.scored).toBe(N - kept);
    // Same triples in the same order; scores equal up to float noise (other batches pad to other lengths).
    const got = await lines(out);
    const ref = await lines(reference);
    expect(got).toHaveLength(ref.length);
    got.forEach((l, i) => {
      const [g, r] = [l.split('\t'), ref[i].split('\t')];
      expect(g.slice(2), `line ${i + 1}`).toEqual(r.slice(2));
      expect(Math.abs(Number(g[0]) - Number(r[0])) + Math.abs(Number(g[1]) - Number(r[1])), `line ${i + 1}`).toBeLessThan(1e-5);
    });
  });

  it('refuses to append to an output made with other settings', async () => {
    await expect(scoreTriples({ model, triples, out: reference, batchSize: 32, maxLength: 32, quiet: true })).rejects.toThrow(/not written by this scoring run/);
  });

  it('scores id triples against a collection and queries into the ids-scores form', async () => {
    const queries = path.join(dir, 'queries.tsv');
    await fsp.writeFile(queries, '7\twhat is the manhattan project\n9\tdefine caffeine\n');
    const ids = path.join(dir, 'ids.tsv');
    await fsp.writeFile(ids, '7\t0\t1\n9\t3\t2\n');
    const out = path.join(dir, 'ids-scores.tsv');
    const tensorsBefore = tf.memory().numTensors;
    const s = await scoreTriples({ model, triples: ids, out, queries, collection: sharedPath('data', 'msmarco-sample', 'collection.sample.tsv'), quiet: true });
    expect(s.lines).toBe(2);
    expect(tf.memory().numTensors).toBe(tensorsBefore); // batches tidied, model weights disposed
    const rows = (await lines(out)).map((l) => l.split('\t'));
    expect(rows.map((r) => r.slice(2))).toEqual([['7', '0', '1'], ['9', '3', '2']]);
    const bad = path.join(dir, 'ids-bad.tsv');
    await fsp.writeFile(bad, '7\t0\t1\n9\t3\t999999\n');
    await expect(
      scoreTriples({ model, triples: bad, out: path.join(dir, 'bad-out.tsv'), queries, collection: sharedPath('data', 'msmarco-sample', 'collection.sample.tsv'), quiet: true }),
    ).rejects.toThrow(`${bad}:2: expected a negative pid in`);
  });
});
