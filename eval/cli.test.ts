import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedPath } from '../common/paths.js';
import evalCommand from './cli.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'evalcli-'));
const QRELS = sharedPath('data/trec/qrels.dl19-passage.txt');
const BM25 = sharedPath('data/runs/dl19-passage.bm25-top500.trec');

/** Runs `margin-mse eval ...` in-process and returns what it printed. */
async function runEval(args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out.push(String(s));
    return true;
  });
  try {
    await yargs(['eval', ...args])
      .command(evalCommand)
      .strict()
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseAsync();
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

afterEach(() => vi.restoreAllMocks());

describe('eval metrics', () => {
  it('prints the JSON form with trec_eval values', async () => {
    const out = await runEval(['metrics', '--qrels', QRELS, '--run', BM25, '--min-rel', '2', '--measures', 'mrr@10,ndcg@10', '--json']);
    const j = JSON.parse(out) as { measures: Record<string, { all: number; perQuery: Record<string, number> }> };
    expect(Object.keys(j.measures)).toEqual(['mrr@10', 'ndcg@10']);
    expect(j.measures['mrr@10'].all).toBeCloseTo(0.7138, 4);
    expect(j.measures['ndcg@10'].all).toBeCloseTo(0.5121, 4);
    expect(j.measures['mrr@10'].perQuery['1113437']).toBeCloseTo(0.1429, 4);
    expect(Object.keys(j.measures['mrr@10'].perQuery)).toHaveLength(43);
  });

  it('prints a table by default with the config default measures', async () => {
    const out = await runEval(['metrics', '--qrels', QRELS, '--run', BM25]);
    expect(out).toMatch(/mrr@10\s+0\.8347\s+43/);
    expect(out).toMatch(/recall@1000\s+0\.6855/);
  });

  it('fails with file and line on a bad run', async () => {
    const bad = path.join(tmp, 'bad.trec');
    writeFileSync(bad, '1 Q0 d1 1 x t\n');
    await expect(runEval(['metrics', '--qrels', QRELS, '--run', bad])).rejects.toThrow(`${bad}:1: expected a finite number`);
  });
});

describe('eval compare', () => {
  it('reports a paired t-test per measure', async () => {
    const ties = sharedPath('goldens/metrics/dl19-ties.trec');
    const out = await runEval(['compare', '--qrels', QRELS, '--a', BM25, '--b', ties, '--min-rel', '2', '--measures', 'ndcg@10', '--json']);
    const j = JSON.parse(out) as { measures: Record<string, { a: number; b: number; n: number; p: number; meanDiff: number }> };
    const m = j.measures['ndcg@10'];
    expect(m.n).toBe(43);
    expect(m.a).toBeCloseTo(0.5121, 4);
    expect(m.b).toBeCloseTo(0.052, 4);
    expect(m.meanDiff).toBeCloseTo(m.a - m.b, 12);
    expect(m.p).toBeLessThan(1e-6);
  });
});

describe('eval bm25 and eval report', () => {
  it('indexes the sample collection, writes a run, and reports it against itself and another run', async () => {
    const collection = sharedPath('data/msmarco-sample/collection.sample.tsv');
    const first = readFileSync(collection, 'utf8').split('\n').slice(0, 3).map((l) => l.split('\t'));
    // Each query is the first 8 words of one passage, so that passage should rank first.
    const queries = path.join(tmp, 'queries.tsv');
    writeFileSync(queries, first.map(([, text], i) => `q${i}\t${text.split(' ').slice(0, 8).join(' ')}`).join('\n'));
    const qrels = path.join(tmp, 'qrels.txt');
    writeFileSync(qrels, first.map(([pid], i) => `q${i} 0 ${pid} 1`).join('\n'));
    const runFile = path.join(tmp, 'bm25.trec');
    const out = await runEval(['bm25', '--collection', collection, '--queries', queries, '--out', runFile, '--k', '10', '--qrels', qrels]);
    expect(out).toMatch(/mrr@10\s+1\.0000\s+3/);
    const lines = readFileSync(runFile, 'utf8').trim().split('\n');
    for (const q of ['q0', 'q1', 'q2']) expect(lines.filter((l) => l.startsWith(`${q} `)).length).toBeLessThanOrEqual(10);
    expect(lines[0]).toMatch(new RegExp(`^q0 Q0 ${first[0][0]} 1 [0-9.]+ bm25$`));

    const dir = path.join(tmp, 'report');
    await runEval(['report', '--out', dir, '--query-set', `toy=${qrels}@1`, '--run', `BM25:bm25:toy=${runFile}`, '--run', `again:rerank:toy=${runFile}`, '--measures', 'mrr@10,recall@10']);
    const json = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    expect(json).toEqual({
      rows: [
        { system: 'BM25', mode: 'bm25', querySet: 'toy', measures: { 'mrr@10': 1, 'recall@10': 1 } },
        { system: 'again', mode: 'rerank', querySet: 'toy', measures: { 'mrr@10': 1, 'recall@10': 1 } },
      ],
    });
    expect(existsSync(path.join(dir, 'report.md')) && existsSync(path.join(dir, 'report.png'))).toBe(true);
    await expect(runEval(['report', '--out', dir, '--query-set', `toy=${qrels}`, '--run', `x:dense:toy=${runFile}`])).rejects.toThrow('MODE one of bm25|rerank|retrieval');
  });
});
