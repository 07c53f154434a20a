import { promises as fsp } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import { InputError, show } from '../common/errors.js';
import { lineSpec, renderChart } from '../common/plot.js';

/** One line of metrics.jsonl: a training row (loss, lr, throughput) or a validation row. */
export interface MetricsRow {
  step: number;
  loss?: number;
  lr?: number;
  grad_norm?: number;
  steps_per_s?: number;
  triples_per_s?: number;
  skipped?: number;
  validation?: Record<string, number>;
  best?: boolean;
}

/**
 * The rows of metrics.jsonl with their text. Rows are appended one at a time, so a run killed mid-append
 * leaves at most a torn last line (no `\n` after it): that one is dropped. Any other line that is not JSON
 * is an InputError naming it.
 */
export async function readMetricsLines(file: string): Promise<{ text: string; row: MetricsRow }[]> {
  const lines = (await fsp.readFile(file, 'utf8').catch(() => '')).split('\n');
  const out: { text: string; row: MetricsRow }[] = [];
  for (const [i, text] of lines.entries()) {
    if (!text.trim()) continue;
    try {
      out.push({ text, row: JSON.parse(text) as MetricsRow });
    } catch {
      if (i === lines.length - 1) break; // the torn last line
      throw new InputError(file, i + 1, 'a JSON metrics row', show(text));
    }
  }
  return out;
}

export async function readMetrics(file: string): Promise<MetricsRow[]> {
  return (await readMetricsLines(file)).map((l) => l.row);
}

/**
 * Draws `<outBase>.png/.svg`: the training loss over steps above the validation measure over steps.
 * Returns the PNG path, or null when there is nothing to draw yet.
 */
export async function renderCurves(metricsFile: string, outBase: string, measure: string): Promise<string | null> {
  const rows = await readMetrics(metricsFile);
  const loss = rows.flatMap((r) => (r.loss === undefined ? [] : [{ x: r.step, y: r.loss, series: 'train loss' }]));
  const val = rows.flatMap((r) => (r.validation?.[measure] === undefined ? [] : [{ x: r.step, y: r.validation[measure], series: `validation ${measure}` }]));
  const charts = [
    ...(loss.length ? [lineSpec(loss, { title: 'training loss', x: 'step', y: 'loss' })] : []),
    ...(val.length ? [lineSpec(val, { title: `validation ${measure}`, x: 'step', y: measure })] : []),
  ].map(({ $schema: _, ...rest }) => rest);
  if (!charts.length) return null;
  const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', vconcat: charts } as TopLevelSpec;
  return (await renderChart(spec, outBase)).png;
}
