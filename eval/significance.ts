/**
 * Paired two-sided Student t-test over per-query scores, as used to mark systems that differ from BM25.
 * Hand-written (a few lines of numerics) because no statistics package is among the dependencies; the
 * t distribution's tail comes from the regularized incomplete beta function: P(|T| ≥ t) = I_{df/(df+t²)}(df/2, 1/2).
 */
export interface TTest {
  /** Number of paired queries. */
  n: number;
  /** Mean of a − b. */
  meanDiff: number;
  t: number;
  /** Two-sided p-value; 1 when every difference is 0 (no evidence of a difference). */
  p: number;
}

/** Pairs `a` and `b` over the queries of `a` (they must be the same set, e.g. both from `evaluate` with -c). */
export function pairedTTest(a: Record<string, number>, b: Record<string, number>): TTest {
  const qids = Object.keys(a);
  const missing = qids.filter((q) => !(q in b));
  if (missing.length || Object.keys(b).length !== qids.length) {
    throw new Error(`paired t-test needs the same queries on both sides: ${missing.length} of a's are not in b, sizes ${qids.length} vs ${Object.keys(b).length}`);
  }
  const n = qids.length;
  if (n < 2) throw new Error(`paired t-test needs at least 2 queries, got ${n}`);
  const d = qids.map((q) => a[q] - b[q]);
  const mean = d.reduce((s, x) => s + x, 0) / n;
  const variance = d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  if (variance === 0) return { n, meanDiff: mean, t: mean === 0 ? 0 : Math.sign(mean) * Infinity, p: mean === 0 ? 1 : 0 };
  const t = mean / Math.sqrt(variance / n);
  const df = n - 1;
  return { n, meanDiff: mean, t, p: incompleteBeta(df / (df + t * t), df / 2, 0.5) };
}

/** Regularized incomplete beta I_x(a, b) by Lentz's continued fraction (converges fast for x < (a+1)/(a+b+2)). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const lnFront = a * Math.log(x) + b * Math.log(1 - x) - lnBeta(a, b);
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let f = d;
  for (let m = 1; m <= 300; m++) {
    for (const num of [
      (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)),
      (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1)),
    ]) {
      d = 1 + num * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      f *= c * d;
    }
    if (Math.abs(c * d - 1) < 1e-15) break;
  }
  return (Math.exp(lnFront) * f) / a;
}

function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** Lanczos approximation (g = 7, 9 terms), accurate to ~1e-15 for positive arguments. */
function lnGamma(z: number): number {
  const g = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  const x = z - 1;
  let s = g[0];
  for (let i = 1; i < 9; i++) s += g[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}
