import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic, writeJsonAtomic } from '../common/atomic.js';
import { ConfigError } from '../common/errors.js';
import { renderChart } from '../common/plot.js';
import type { Qrels } from '../data/qrels.js';
import type { Run } from '../data/runs.js';
import { evaluate, formatMeasure } from './measures.js';
import { pairedTTest } from './significance.js';

export type Mode = 'bm25' | 'rerank' | 'retrieval';

/** One system's run on one query set. */
export interface ReportEntry {
  system: string;
  mode: Mode;
  querySet: string;
  run: Run;
}

export interface Judgments {
  qrels: Qrels;
  /** Relevance threshold of the binary measures (MS MARCO dev 1, TREC DL 2). */
  minRel: number;
}

/** A row of report.json (the exact form other tools read). */
export interface ReportRow {
  system: string;
  mode: Mode;
  querySet: string;
  measures: Record<string, number>;
}

/** Paired t-test of a row against the BM25 row of its query set, per measure (report.md only). */
export interface Mark {
  p: number;
  meanDiff: number;
}

export interface Report {
  rows: ReportRow[];
  /** Same order as rows; empty for BM25 rows and query sets without a BM25 row. */
  marks: Record<string, Mark>[];
}

/**
 * Evaluates every entry on its query set's qrels and tests each non-BM25 row against that query set's BM25
 * row (paired t-test over the qrels queries; the first `bm25` row of a query set is the baseline).
 */
export function buildReport(entries: ReportEntry[], querySets: Map<string, Judgments>, measures: string[]): Report {
  const evaluated = entries.map((e) => {
    const j = querySets.get(e.querySet);
    if (!j) throw new ConfigError(`run of ${e.system} names query set ${JSON.stringify(e.querySet)}, which has no qrels (known: ${[...querySets.keys()].join(', ')})`);
    return { e, result: evaluate(j.qrels, e.run, { measures, minRel: j.minRel }) };
  });
  const baseline = new Map<string, (typeof evaluated)[number]>();
  for (const x of evaluated) if (x.e.mode === 'bm25' && !baseline.has(x.e.querySet)) baseline.set(x.e.querySet, x);
  const rows: ReportRow[] = [];
  const marks: Record<string, Mark>[] = [];
  for (const x of evaluated) {
    const m = x.result.measures;
    rows.push({ system: x.e.system, mode: x.e.mode, querySet: x.e.querySet, measures: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.all])) });
    const base = baseline.get(x.e.querySet);
    const mk: Record<string, Mark> = {};
    if (base && base !== x) {
      for (const [name, v] of Object.entries(m)) {
        const t = pairedTTest(v.perQuery, base.result.measures[name].perQuery);
        mk[name] = { p: t.p, meanDiff: t.meanDiff };
      }
    }
    marks.push(mk);
  }
  return { rows, marks };
}

/** The report as Markdown: one table per query set, ▲/▼ where a row differs from BM25 at level `alpha`. */
export function reportMarkdown(report: Report, alpha: number): string {
  const measures = [...new Set(report.rows.flatMap((r) => Object.keys(r.measures)))];
  const out = ['# Evaluation report', ''];
  for (const qs of [...new Set(report.rows.map((r) => r.querySet))]) {
    out.push(`## ${qs}`, '', `| system | mode | ${measures.join(' | ')} |`, `|---|---|${measures.map(() => '---:|').join('')}`);
    report.rows.forEach((r, i) => {
      if (r.querySet !== qs) return;
      const cells = measures.map((m) => {
        const v = r.measures[m];
        if (v === undefined) return '';
        const mk = report.marks[i][m];
        const sig = mk && mk.p < alpha ? (mk.meanDiff > 0 ? ' ▲' : ' ▼') : '';
        return `${formatMeasure(v)}${sig}`;
      });
      out.push(`| ${r.system} | ${r.mode} | ${cells.join(' | ')} |`);
    });
    out.push('');
  }
  out.push(`▲ / ▼: significantly better / worse than the query set's BM25 row (paired two-sided t-test over all judged queries, p < ${alpha}).`, '');
  return out.join('\n');
}

/** Grouped bars: one panel per query set × measure, one bar per system. */
export function reportChartSpec(report: Report): TopLevelSpec {
  const values = report.rows.flatMap((r) => Object.entries(r.measures).map(([measure, value]) => ({ system: `${r.system} (${r.mode})`, querySet: r.querySet, measure, value })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    mark: 'bar',
    width: 140,
    height: 160,
    encoding: {
      x: { field: 'system', type: 'nominal', title: null, axis: { labels: false } },
      y: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] } },
      // Labels in full (vega cuts them at 160 px: both student rows read 'BERT_Dot (tiny, Ma…').
      color: { field: 'system', type: 'nominal', title: 'system', legend: { labelLimit: 1000 } },
      column: { field: 'measure', type: 'nominal', title: null },
      row: { field: 'querySet', type: 'nominal', title: null },
    },
  };
}

/** Writes report.json (`{rows}`), report.md and report.svg/png into `dir`. */
export async function writeReport(dir: string, report: Report, alpha: number): Promise<{ json: string; md: string; png: string }> {
  const json = path.join(dir, 'report.json');
  const md = path.join(dir, 'report.md');
  await writeJsonAtomic(json, { rows: report.rows });
  await writeFileAtomic(md, reportMarkdown(report, alpha));
  const { png } = await renderChart(reportChartSpec(report), path.join(dir, 'report'));
  return { json, md, png };
}
