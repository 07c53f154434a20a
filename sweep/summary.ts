import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic, writeJsonAtomic } from '../common/atomic.js';
import { renderChart } from '../common/plot.js';
import type { SweepConfig } from './config.js';
import { showValue, type Value } from './expand.js';
import { DONE_FILE, planRuns, sweepDir } from './runs.js';

export interface SummaryRow {
  rank: number | null;
  run: string;
  values: Record<string, Value>;
  /** The validation measure, or null when the run has not finished or its summary lacks it. */
  metric: number | null;
  status: 'done' | 'pending' | 'no-metric';
}

export interface SweepSummary {
  metric: string;
  mode: 'max' | 'min';
  rows: SummaryRow[];
  files: { markdown: string; csv: string; json: string; chart?: string };
}

/** Reads a dotted path (`best.mrr@10`) out of a parsed JSON value. */
export function getPath(obj: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

/** Collects every run's measure from its summary.json, best first (finished runs before the others). */
export async function collect(sweep: SweepConfig): Promise<SummaryRow[]> {
  const rows: SummaryRow[] = [];
  for (const run of planRuns(sweep)) {
    const text = await fsp.readFile(path.join(run.runDir, DONE_FILE), 'utf8').catch(() => undefined);
    if (text === undefined) {
      rows.push({ rank: null, run: run.name, values: run.values, metric: null, status: 'pending' });
      continue;
    }
    const v = getPath(JSON.parse(text), sweep.metric.path);
    const ok = typeof v === 'number' && Number.isFinite(v);
    rows.push({ rank: null, run: run.name, values: run.values, metric: ok ? v : null, status: ok ? 'done' : 'no-metric' });
  }
  const sign = sweep.metric.mode === 'max' ? -1 : 1;
  rows.sort((a, b) => (a.metric === null ? 1 : 0) - (b.metric === null ? 1 : 0) || sign * ((a.metric ?? 0) - (b.metric ?? 0)) || (a.run < b.run ? -1 : 1));
  rows.forEach((r, i) => (r.rank = r.metric === null ? null : i + 1));
  return rows;
}

/**
 * Why the summary has no result although runs finished: the metric path names nothing in their summary.json
 * (a typo such as `best.mrr` for `best.value`), so every finished run shows `no-metric`. Null when any run
 * has the metric or none has finished.
 */
export function missingMetric(sweep: SweepConfig, rows: SummaryRow[]): string | null {
  const finished = rows.filter((r) => r.status !== 'pending');
  if (finished.length === 0 || finished.some((r) => r.status === 'done')) return null;
  const example = path.join(sweepDir(sweep), finished[0].run, DONE_FILE);
  return `${sweep.file}: metric.path '${sweep.metric.path}' is not a number in the summary.json of any of the ${finished.length} finished runs (e.g. ${example}); set metric.path to a number there, such as best.value`;
}

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const fmt = (m: number | null) => (m === null ? '' : m.toFixed(4));

export function toCsv(sweep: SweepConfig, rows: SummaryRow[]): string {
  const keys = Object.keys(sweep.params);
  const head = ['rank', 'run', ...keys, sweep.metric.name, 'status'];
  const lines = rows.map((r) => [r.rank ?? '', r.run, ...keys.map((k) => showValue(r.values[k])), fmt(r.metric), r.status].map((x) => csvField(String(x))));
  return [head.map(csvField), ...lines].map((l) => `${l.join(',')}\n`).join('');
}

export function toMarkdown(sweep: SweepConfig, rows: SummaryRow[]): string {
  const keys = Object.keys(sweep.params);
  const head = ['rank', 'run', ...keys, `${sweep.metric.name} (${sweep.metric.mode})`, 'status'];
  const cell = (x: unknown) => String(x).replace(/\|/g, '\\|');
  const lines = rows.map((r) => [r.rank ?? '–', r.run, ...keys.map((k) => showValue(r.values[k])), fmt(r.metric) || '–', r.status].map(cell));
  const done = rows.filter((r) => r.status === 'done').length;
  return [
    `# Sweep ${sweep.name}`,
    '',
    `${rows.length} runs (${sweep.method}), ${done} with a result; sorted by ${sweep.metric.name} (${sweep.metric.path} in summary.json), ${sweep.metric.mode === 'max' ? 'higher' : 'lower'} is better.`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...lines.map((l) => `| ${l.join(' | ')} |`),
    '',
  ].join('\n');
}

/** A bar per finished run, best on top. */
function chartSpec(sweep: SweepConfig, rows: SummaryRow[]): TopLevelSpec {
  const done = rows.filter((r) => r.metric !== null);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `sweep ${sweep.name}: ${sweep.metric.name}`,
    width: 480,
    height: Math.max(60, 22 * done.length),
    data: { values: done.map((r) => ({ run: r.run, metric: r.metric })) },
    mark: 'bar',
    encoding: {
      y: { field: 'run', type: 'nominal', sort: done.map((r) => r.run), title: null },
      x: { field: 'metric', type: 'quantitative', title: sweep.metric.name },
    },
  };
}

/** Writes summary.md, summary.csv, summary.json and (when a run has a result) summary.svg/.png. */
export async function writeSummary(sweep: SweepConfig): Promise<SweepSummary> {
  const dir = sweepDir(sweep);
  const rows = await collect(sweep);
  const files: SweepSummary['files'] = {
    markdown: path.join(dir, 'summary.md'),
    csv: path.join(dir, 'summary.csv'),
    json: path.join(dir, 'summary.json'),
  };
  await writeFileAtomic(files.markdown, toMarkdown(sweep, rows));
  await writeFileAtomic(files.csv, toCsv(sweep, rows));
  await writeJsonAtomic(files.json, { metric: sweep.metric, rows });
  if (rows.some((r) => r.metric !== null)) files.chart = (await renderChart(chartSpec(sweep, rows), path.join(dir, 'summary'))).png;
  return { metric: sweep.metric.name, mode: sweep.metric.mode, rows, files };
}
