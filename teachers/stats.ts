import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeJsonAtomic } from '../common/atomic.js';
import { InputError } from '../common/errors.js';
import { renderChart } from '../common/plot.js';
import { withAligned, type AlignMode } from './align.js';
import { detectFormat, type ScoreFormat } from './score-file.js';
import { Covariance, Moments, Reservoir, quantileSorted, spearman } from './stats-math.js';

/**
 * What a set of teacher score files looks like: per file the score and margin (pos - neg) distributions,
 * and for each pair of teachers how much they agree on the margins. Margin-MSE trains on margins, so the
 * margin distribution and the teachers' agreement on it are what matter for distillation.
 */
export const QUANTILES = [0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1] as const;

export interface Distribution {
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Keys `p0`, `p1`, `p5`, ... `p100`; linear interpolation (numpy's default). */
  quantiles: Record<string, number>;
}

export interface FileStats {
  file: string;
  format: ScoreFormat;
  count: number;
  pos: Distribution;
  neg: Distribution;
  margin: Distribution & {
    /** Share of triples where the teacher ranks the labelled positive above the negative, equal, below. */
    positive: number;
    zero: number;
    negative: number;
  };
}

export interface Agreement {
  a: string;
  b: string;
  /** Pearson correlation of the two teachers' margins (exact, over all triples). */
  pearson: number;
  /** Spearman correlation of the margins (over the sample, see `sample`). */
  spearman: number;
  /** Share of triples the two order oppositely (one margin > 0, the other < 0). */
  disagree: number;
  /** Share of triples where one or both margins are exactly 0 (no order to compare). */
  tie: number;
}

export interface ScoreStats {
  files: FileStats[];
  agreement: Agreement[];
  alignment: 'strict' | 'join';
  /** Quantiles, Spearman and the histogram come from these rows; exact when all rows were kept. */
  sample: { rows: number; of: number; exact: boolean };
  histogram?: { svg: string; png: string };
}

export interface StatsOptions {
  align?: AlignMode;
  format?: ScoreFormat;
  /** Rows kept for quantiles and ranks (default 1,000,000; exact below that). */
  sampleCap?: number;
  seed?: number;
  log?: (msg: string) => void;
}

function distribution(m: Moments, sample: Float64Array): Distribution {
  const sorted = Float64Array.from(sample).sort();
  const quantiles: Record<string, number> = {};
  for (const q of QUANTILES) quantiles[`p${Math.round(q * 100)}`] = quantileSorted(sorted, q);
  // The extremes are known exactly even when the sample is not the whole file.
  quantiles.p0 = m.min;
  quantiles.p100 = m.max;
  return { mean: m.mean, std: m.std, min: m.min, max: m.max, quantiles };
}

export async function scoreStats(files: string[], opts: StatsOptions = {}): Promise<{ stats: ScoreStats; margins: Float64Array[] }> {
  const formats = opts.format ? files.map(() => opts.format as ScoreFormat) : await Promise.all(files.map(detectFormat));
  const other = formats.findIndex((f) => f !== formats[0]);
  if (other >= 0) throw new InputError(files[other], undefined, `the score form of ${files[0]} (${formats[0]}); files mix score forms`, formats[other]);
  const T = files.length;
  const pairs: [number, number][] = [];
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) pairs.push([i, j]);

  const { result, mode } = await withAligned(files, { format: formats[0], align: opts.align ?? 'auto', log: opts.log }, async (rows) => {
    const pos = files.map(() => new Moments());
    const neg = files.map(() => new Moments());
    const mar = files.map(() => new Moments());
    const signs = files.map(() => [0, 0, 0]); // [positive, zero, negative]
    const cov = pairs.map(() => new Covariance());
    const disagree = pairs.map(() => 0);
    const tie = pairs.map(() => 0);
    // Row layout: [pos_0, neg_0, pos_1, neg_1, ...]
    const reservoir = new Reservoir(2 * T, opts.sampleCap ?? 1_000_000, opts.seed ?? 1);
    const row = new Float64Array(2 * T);
    const m = new Float64Array(T);
    for await (const r of rows) {
      for (let k = 0; k < T; k++) {
        pos[k].add(r.pos[k]);
        neg[k].add(r.neg[k]);
        m[k] = r.pos[k] - r.neg[k];
        mar[k].add(m[k]);
        signs[k][m[k] > 0 ? 0 : m[k] === 0 ? 1 : 2]++;
        row[2 * k] = r.pos[k];
        row[2 * k + 1] = r.neg[k];
      }
      pairs.forEach(([i, j], p) => {
        cov[p].add(m[i], m[j]);
        if (m[i] === 0 || m[j] === 0) tie[p]++;
        else if (m[i] > 0 !== m[j] > 0) disagree[p]++;
      });
      reservoir.add(row);
    }
    return { pos, neg, mar, signs, cov, disagree, tie, reservoir };
  });

  const { reservoir } = result;
  const n = reservoir.seen;
  if (n === 0) throw new InputError(files[0], undefined, 'at least one score line', 'none');
  const posS = files.map((_, k) => reservoir.column(2 * k));
  const negS = files.map((_, k) => reservoir.column(2 * k + 1));
  const margins = files.map((_, k) => posS[k].map((p, i) => p - negS[k][i]));
  const stats: ScoreStats = {
    files: files.map((file, k) => ({
      file,
      format: formats[k],
      count: n,
      pos: distribution(result.pos[k], posS[k]),
      neg: distribution(result.neg[k], negS[k]),
      margin: {
        ...distribution(result.mar[k], margins[k]),
        positive: result.signs[k][0] / n,
        zero: result.signs[k][1] / n,
        negative: result.signs[k][2] / n,
      },
    })),
    agreement: pairs.map(([i, j], p) => ({
      a: files[i],
      b: files[j],
      pearson: result.cov[p].pearson,
      spearman: spearman(margins[i], margins[j]),
      disagree: result.disagree[p] / n,
      tie: result.tie[p] / n,
    })),
    alignment: mode,
    sample: { rows: reservoir.size, of: n, exact: reservoir.exact },
  };
  return { stats, margins };
}

/** Margin histogram rows: one series per teacher, `bins` equal bins over the joint range, y = share of triples. */
function marginHistogram(names: string[], margins: Float64Array[], bins = 40): { x: number; y: number; series: string }[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const m of margins) for (const v of m) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  const width = hi > lo ? (hi - lo) / bins : 1;
  const rows: { x: number; y: number; series: string }[] = [];
  margins.forEach((m, k) => {
    const counts = new Float64Array(bins);
    for (const v of m) counts[Math.min(Math.floor((v - lo) / width), bins - 1)]++;
    counts.forEach((c, b) => rows.push({ x: lo + (b + 0.5) * width, y: c / Math.max(m.length, 1), series: names[k] }));
  });
  return rows;
}

function histogramSpec(rows: { x: number; y: number; series: string }[], sampled: boolean): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Teacher margins (pos - neg)${sampled ? ', uniform sample' : ''}`,
    width: 560,
    height: 300,
    data: { values: rows },
    mark: { type: 'line', interpolate: 'step', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'margin (bin centre)' },
      y: { field: 'y', type: 'quantitative', title: 'share of triples' },
      // File names in full (vega cuts labels at 160 px, so two teachers' files could not be told apart).
      color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 1000 } },
    },
  };
}

/** Computes the stats, writes `<outDir>/stats.json` and the margin histogram `<outDir>/margins.{svg,png}`. */
export async function writeScoreStats(files: string[], outDir: string, opts: StatsOptions = {}): Promise<ScoreStats> {
  const { stats, margins } = await scoreStats(files, opts);
  const names = files.map((f) => path.basename(f));
  stats.histogram = await renderChart(histogramSpec(marginHistogram(names, margins), !stats.sample.exact), path.join(outDir, 'margins'));
  await writeJsonAtomic(path.join(outDir, 'stats.json'), stats);
  return stats;
}

/** A plain-text table of the stats for the terminal. */
export function formatStats(s: ScoreStats): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
  const lines: string[] = [];
  for (const fs of s.files) {
    lines.push(`${fs.file} (${fs.format}, ${fs.count} triples)`);
    for (const [name, d] of [['pos', fs.pos], ['neg', fs.neg], ['margin', fs.margin]] as const) {
      const q = d.quantiles;
      lines.push(
        `  ${name.padEnd(6)} mean ${f(d.mean)} std ${f(d.std)} | min ${f(q.p0)} p5 ${f(q.p5)} p25 ${f(q.p25)} p50 ${f(q.p50)} p75 ${f(q.p75)} p95 ${f(q.p95)} max ${f(q.p100)}`,
      );
    }
    lines.push(`  margin > 0 ${f(fs.margin.positive)}  = 0 ${f(fs.margin.zero)}  < 0 ${f(fs.margin.negative)}`);
  }
  for (const a of s.agreement) {
    lines.push(`${a.a} vs ${a.b}: pearson ${f(a.pearson)} spearman ${f(a.spearman)} disagree ${f(a.disagree)} tie ${f(a.tie)}`);
  }
  if (!s.sample.exact) lines.push(`(quantiles and spearman over a uniform sample of ${s.sample.rows} of ${s.sample.of} triples)`);
  return lines.join('\n');
}
