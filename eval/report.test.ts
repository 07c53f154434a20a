import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { readQrels } from '../data/qrels.js';
import { readRun, type Run } from '../data/runs.js';
import { buildReport, reportMarkdown, writeReport } from './report.js';

describe('report', () => {
  it('builds rows in the report.json form with marks against BM25, and writes md, json and a chart', async () => {
    const qrels = await readQrels(sharedPath('data/trec/qrels.dl19-passage.txt'));
    const bm25 = await readRun(sharedPath('data/runs/dl19-passage.bm25-top500.trec'));
    const ties = await readRun(sharedPath('goldens/metrics/dl19-ties.trec'));
    // "Oracle" re-ranking: BM25's candidates ordered by their grade, better than BM25 on every measure.
    const oracle: Run = new Map([...bm25].map(([q, docs]) => [q, docs.map((d) => ({ docno: d.docno, score: qrels.get(q)?.get(d.docno) ?? 0 }))]));
    const report = buildReport(
      [
        { system: 'BM25', mode: 'bm25', querySet: 'dl19', run: bm25 },
        { system: 'oracle', mode: 'rerank', querySet: 'dl19', run: oracle },
        { system: 'random', mode: 'retrieval', querySet: 'dl19', run: ties },
      ],
      new Map([['dl19', { qrels, minRel: 2 }]]),
      ['mrr@10', 'ndcg@10'],
    );
    expect(report.rows[0]).toEqual({ system: 'BM25', mode: 'bm25', querySet: 'dl19', measures: { 'mrr@10': expect.closeTo(0.7138, 4), 'ndcg@10': expect.closeTo(0.5121, 4) } });
    expect(report.rows[2].measures['ndcg@10']).toBeCloseTo(0.052, 4);
    expect(report.marks[0]).toEqual({});
    expect(report.marks[1]['ndcg@10'].meanDiff).toBeGreaterThan(0);
    expect(report.marks[2]['ndcg@10'].meanDiff).toBeLessThan(0);
    const md = reportMarkdown(report, 0.05);
    expect(md).toContain('| BM25 | bm25 | 0.7138 | 0.5121 |');
    expect(md).toContain('| oracle | rerank | 0.9767 ▲ | 0.9511 ▲ |'); // one query has no grade ≥ 2 among the candidates
    expect(md).toMatch(/\| random \| retrieval \| 0\.0901 ▼ \| 0\.0520 ▼ \|/);

    const dir = mkdtempSync(path.join(tmpdir(), 'report-'));
    const out = await writeReport(dir, report, 0.05);
    expect(Object.keys(JSON.parse(readFileSync(out.json, 'utf8')))).toEqual(['rows']);
    expect(existsSync(out.png) && existsSync(path.join(dir, 'report.svg'))).toBe(true);
  });

  it('rejects a run whose query set has no qrels', () => {
    expect(() => buildReport([{ system: 's', mode: 'rerank', querySet: 'x', run: new Map() }], new Map(), ['mrr@10'])).toThrow('query set "x"');
  });
});
