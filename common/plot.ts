import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from './atomic.js';

/**
 * Renders a Vega-Lite spec to `<outBase>.svg` and `<outBase>.png` without a browser (vega's headless
 * SVG renderer, then resvg). Curves, histograms and report charts all go through here.
 */
export async function renderChart(spec: TopLevelSpec, outBase: string): Promise<{ svg: string; png: string }> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 } }).render().asPng();
  await writeFileAtomic(`${outBase}.svg`, svg);
  await writeFileAtomic(`${outBase}.png`, png);
  return { svg: `${outBase}.svg`, png: `${outBase}.png` };
}

/** A line chart of one or more series: rows `{x, y, series}`. */
export function lineSpec(
  rows: { x: number; y: number; series: string }[],
  opts: { title: string; x: string; y: string; logY?: boolean },
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    width: 560,
    height: 300,
    data: { values: rows },
    mark: { type: 'line', point: rows.length <= 60 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.x },
      y: { field: 'y', type: 'quantitative', title: opts.y, scale: opts.logY ? { type: 'log' } : { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}
