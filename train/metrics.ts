import { promises as fsp } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
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

export async function readMetrics(file: string): Promise<MetricsRow[]> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as MetricsRow);
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
