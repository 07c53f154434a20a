import { promises as fsp } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import { InputError, show } from '../common/errors.js';
import { lineSpec, renderChart } from '../common/plot.js';

/** One line of metrics.jsonl: a training row (loss and its terms, lr, throughput) or a validation row. */
export interface MetricsRow {
  step: number;
  /** The weighted total of the loss terms. */
  loss?: number;
  /** Each term's own (unweighted) value by key (`margin_mse`, `kl_tau2`, `in_batch_scale20`; train/loss-terms.ts). */
  terms?: Record<string, number>;
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
 * Draws `<outBase>.png/.svg`: the training loss over steps, each loss term over steps (when the loss is a
 * mix of several: one term alone is the loss), and the validation measure over steps.
 * Returns the PNG path, or null when there is nothing to draw yet.
 */
export async function renderCurves(metricsFile: string, outBase: string, measure: string): Promise<string | null> {
  const rows = await readMetrics(metricsFile);
  const loss = rows.flatMap((r) => (r.loss === undefined ? [] : [{ x: r.step, y: r.loss, series: 'train loss' }]));
  const terms = rows.flatMap((r) => Object.entries(r.terms ?? {}).map(([k, y]) => ({ x: r.step, y, series: k })));
  const mixed = new Set(terms.map((t) => t.series)).size > 1;
  const val = rows.flatMap((r) => (r.validation?.[measure] === undefined ? [] : [{ x: r.step, y: r.validation[measure], series: `validation ${measure}` }]));
  const charts = [
    ...(loss.length ? [lineSpec(loss, { title: 'training loss', x: 'step', y: 'loss' })] : []),
    ...(mixed ? [lineSpec(terms, { title: 'loss terms (unweighted)', x: 'step', y: 'term' })] : []),
    ...(val.length ? [lineSpec(val, { title: `validation ${measure}`, x: 'step', y: measure })] : []),
  ].map(({ $schema: _, ...rest }) => rest);
  if (!charts.length) return null;
  const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', vconcat: charts } as TopLevelSpec;
  return (await renderChart(spec, outBase)).png;
}
