import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../common/paths.js';
import { runQuickstart } from './quickstart.js';

/**
 * LONG TEST (about 3-5 minutes on 2 cores): the whole quickstart end to end, as `npm start` runs it —
 * the one long test of the suite. It must keep passing: the tiny student beats BM25 on MRR@10 and nDCG@10.
 */
describe('quickstart end to end (LONG, ~3-5 min)', () => {
  it('generates, prepares, trains, evaluates, and the student beats BM25', { timeout: 15 * 60_000 }, async () => {
    const out = await fsp.mkdtemp(path.join(os.tmpdir(), 'quickstart-e2e-'));
    const lines: string[] = [];
    const r = await runQuickstart({ configFile: path.join(ROOT, 'configs', 'quickstart.yaml'), outDir: out, log: (m) => lines.push(m) });

    // Every stage reported its progress, in order.
    const stages = lines.filter((l) => l.includes('quickstart [')).map((l) => l.trim().slice(0, 16));
    expect(stages).toEqual(['quickstart [1/5]', 'quickstart [2/5]', 'quickstart [3/5]', 'quickstart [4/5]', 'quickstart [5/5]']);

    // The table: BM25, then the student re-ranking and retrieving, on the dev queries.
    expect(r.report.rows.map((row) => [row.system, row.mode])).toEqual([
      ['BM25', 'bm25'],
      ['BERT_Dot (tiny, Margin-MSE)', 'rerank'],
      ['BERT_Dot (tiny, Margin-MSE)', 'retrieval'],
    ]);
    const [bm25, rerank, retrieval] = r.report.rows.map((row) => row.measures);
    for (const m of ['mrr@10', 'ndcg@10']) {
      expect(rerank[m], `rerank ${m}`).toBeGreaterThan(bm25[m]);
      expect(retrieval[m], `retrieval ${m}`).toBeGreaterThan(bm25[m]);
    }
    expect(r.beats).toEqual({ 'mrr@10': true, 'ndcg@10': true });
    expect(r.markdown).toContain('| BM25 | bm25 |');

    // Everything under the output folder: data, cache, run folder with best/, runs, report.
    for (const f of ['data/collection.tsv', 'data/dataset.json', 'student/metrics.jsonl', 'student/best/model.safetensors', 'runs/student.rerank.dev.trec', 'report/report.md', 'report/report.json'])
      await expect(fsp.stat(path.join(out, f)), f).resolves.toBeTruthy();
    expect(r.train.best).not.toBeNull();
  });
});
