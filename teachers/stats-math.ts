import { rng } from '../common/rng.js';

/**
 * Small statistics helpers for teacher scores: streaming moments, quantiles, ranks, correlations and a
 * seeded reservoir. Hand-written because they are a few lines each and need typed arrays for 40M rows.
 */

/** Running count, mean, variance (Welford), min and max. */
export class Moments {
  n = 0;
  mean = 0;
  private m2 = 0;
  min = Infinity;
  max = -Infinity;

  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  /** Population standard deviation. */
  get std(): number {
    return this.n > 0 ? Math.sqrt(this.m2 / this.n) : NaN;
  }
}

/** Running Pearson correlation of pairs (x, y), by co-moments (numerically stable for millions of rows). */
export class Covariance {
  n = 0;
  private mx = 0;
  private my = 0;
  private sxx = 0;
  private syy = 0;
  private sxy = 0;

  add(x: number, y: number): void {
    this.n++;
    const dx = x - this.mx;
    const dy = y - this.my;
    this.mx += dx / this.n;
    this.my += dy / this.n;
    this.sxx += dx * (x - this.mx);
    this.syy += dy * (y - this.my);
    this.sxy += dx * (y - this.my);
  }

  /** NaN when either side is constant. */
  get pearson(): number {
    return this.sxx > 0 && this.syy > 0 ? this.sxy / Math.sqrt(this.sxx * this.syy) : NaN;
  }
}

/** Quantile of sorted values with linear interpolation between order statistics (numpy's default, "type 7"). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** 1-based ranks, ties getting the mean of the ranks they span (as Spearman's rho wants). */
export function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const r = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]] = rank;
    i = j + 1;
  }
  return r;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const c = new Covariance();
  for (let i = 0; i < x.length; i++) c.add(x[i], y[i]);
  return c.pearson;
}

/** Spearman's rho: Pearson correlation of the ranks. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(ranks(x), ranks(y));
}

/**
 * Keeps every row up to `cap` rows, then a uniform sample of `cap` (reservoir sampling, Algorithm R):
 * quantiles and ranks need the values, and 40M rows x teachers x 2 scores would not fit.
 * Each row is `width` numbers; row k lives at [k*width, (k+1)*width).
 */
export class Reservoir {
  readonly data: Float64Array;
  size = 0;
  seen = 0;
  private readonly random: () => number;

  constructor(
    readonly width: number,
    readonly cap: number,
    seed = 1,
  ) {
    this.data = new Float64Array(width * cap);
    this.random = rng(seed); // common/rng.ts's mulberry32: the same sample on every run
  }

  add(row: ArrayLike<number>): void {
    this.seen++;
    let slot: number;
    if (this.size < this.cap) slot = this.size++;
    else {
      slot = Math.floor(this.random() * this.seen);
      if (slot >= this.cap) return;
    }
    for (let j = 0; j < this.width; j++) this.data[slot * this.width + j] = row[j];
  }

  get exact(): boolean {
    return this.seen === this.size;
  }

  /** Column j of the kept rows. */
  column(j: number): Float64Array {
    const c = new Float64Array(this.size);
    for (let k = 0; k < this.size; k++) c[k] = this.data[k * this.width + j];
    return c;
  }
}
