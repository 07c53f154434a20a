import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedPath } from '../common/paths.js';
import evalCommand from './eval.js';

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

  it('rejects an unknown measure as a user error', async () => {
    await expect(runEval(['metrics', '--qrels', QRELS, '--run', BM25, '--measures', 'mrr@10,ndgc@10'])).rejects.toThrow('--measures: expected names like mrr@10');
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

describe('eval rerank, encode, retrieve with the tiny DistilBERT', () => {
  it('agree: retrieval top-5 equals re-ranking every passage, through the CLI', async () => {
    const model = sharedPath('goldens/distilbert-tiny');
    const vocab = sharedPath('data/vocab/bert-base-uncased-vocab.txt');
    // 30 real passages, cut to 48 tokens: the cpu backend is slow and CI has 2 cores.
    const collection = path.join(tmp, 'dense-collection.tsv');
    const lines = readFileSync(sharedPath('data/msmarco-sample/collection.sample.tsv'), 'utf8').trim().split('\n').slice(0, 30);
    writeFileSync(collection, `${lines.join('\n')}\n`);
    const pids = lines.map((l) => l.split('\t')[0]);
    const queries = path.join(tmp, 'dense-queries.tsv');
    writeFileSync(queries, 'a\tmanhattan project atomic bomb\nb\twhat is the capital of france\n');
    const all = path.join(tmp, 'all.trec');
    writeFileSync(all, ['a', 'b'].flatMap((q) => pids.map((p, i) => `${q} Q0 ${p} ${i + 1} 0 all`)).join('\n'));
    const common = ['--model', model, '--vocab', vocab, '--backend', 'cpu', '--batch-size', '16', '--set', 'data.passage_max_length=48'];

    const reranked = path.join(tmp, 'reranked.trec');
    await runEval(['rerank', ...common, '--collection', collection, '--queries', queries, '--run', all, '--out', reranked]);
    const index = path.join(tmp, 'index');
    const encoded = await runEval(['encode', ...common, '--collection', collection, '--out', index, '--shard-size', '12']);
    expect(encoded).toContain(`3/3 shards of ${pids.length} passages`);
    const dense = path.join(tmp, 'dense.trec');
    await runEval(['retrieve', ...common, '--index', index, '--queries', queries, '--out', dense, '--k', '5']);

    const top = (file: string): Map<string, { docno: string; score: number }[]> => {
      const m = new Map<string, { docno: string; score: number }[]>();
      for (const l of readFileSync(file, 'utf8').trim().split('\n')) {
        const [q, , d, rank, score] = l.split(' ');
        if (Number(rank) <= 5) m.set(q, [...(m.get(q) ?? []), { docno: d, score: Number(score) }]);
      }
      return m;
    };
    const fromRerank = top(reranked);
    const fromDense = top(dense);
    for (const q of ['a', 'b']) {
      expect(fromDense.get(q)!.map((d) => d.docno)).toEqual(fromRerank.get(q)!.map((d) => d.docno));
      fromDense.get(q)!.forEach((d, i) => expect(d.score).toBeCloseTo(fromRerank.get(q)![i].score, 4));
    }
  });
});
