import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { loadBertCat } from '../models/bert-cat.js';
import { testBackend } from '../models/engine/testing.js';
import { scorePairs } from './pair-scorer.js';

/**
 * `teachers score` through the CLI with matchmaker's DistilBERT BERT_Cat read from its pytorch_model.bin
 * (parity/goldens/bert-cat-distilbert-tiny/pytorch_model): the scores equal those of the same model loaded
 * from model.safetensors in this process.
 */
const run = promisify(execFile);
const GOLDEN_DIR = path.join(ROOT, 'parity', 'goldens', 'bert-cat-distilbert-tiny');
const VOCAB = path.join(ROOT, 'data', 'vocab', 'bert-base-uncased-vocab.txt');
const N = 6;
let tmp: string;

testBackend('cpu');
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'score-distilbert-cat-'));
});
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

describe('teachers score with a DistilBERT BERT_Cat from pytorch_model.bin', () => {
  it('writes the scores the safetensors copy of the model gives', async () => {
    const triples = sharedPath('data', 'msmarco-sample', 'triples.train.sample.tsv');
    const out = path.join(tmp, 'scores.tsv');
    const args = ['--import', 'tsx', 'cli/main.ts', 'teachers', 'score', '--model', path.join(GOLDEN_DIR, 'pytorch_model'), '--vocab', VOCAB];
    args.push('--triples', triples, '--out', out, '--limit', String(N), '--max-length', '64', '--backend', 'cpu');
    await run(process.execPath, args, { cwd: ROOT });

    const rows = (await fsp.readFile(out, 'utf8')).trimEnd().split('\n').map((l) => l.split('\t'));
    expect(rows).toHaveLength(N);
    const model = await loadBertCat(GOLDEN_DIR);
    const pairs: [string, string][] = [...rows.map((r): [string, string] => [r[2], r[3]]), ...rows.map((r): [string, string] => [r[2], r[4]])];
    const expected = await scorePairs(model, await loadTokenizer(VOCAB), pairs, { maxLength: 64 });
    model.dispose();
    rows.forEach((r, i) => {
      expect(Number(r[0])).toBeCloseTo(expected[i], 5);
      expect(Number(r[1])).toBeCloseTo(expected[N + i], 5);
    });
    expect(new Set(rows.map((r) => r[0])).size).toBe(N); // distinct inputs, distinct scores
  }, 120_000);
});
