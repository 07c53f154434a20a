import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreStats, writeScoreStats } from './stats.js';
import { quantileSorted, ranks, spearman } from './stats-math.js';

let dir: string;
let a: string;
let b: string;

// Hand-made teachers: margins A = [2, 0, -1, 4, -2], B = [1, 1, -3, 6, 3].
const A = ['3\t1\t1\t10\t20', '2\t2\t2\t11\t21', '1\t2\t3\t12\t22', '5\t1\t4\t13\t23', '1\t3\t5\t14\t24'];
const B = ['2\t1\t1\t10\t20', '1\t0\t2\t11\t21', '0\t3\t3\t12\t22', '6\t0\t4\t13\t23', '4\t1\t5\t14\t24'];

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'teachers-stats-'));
  a = path.join(dir, 'a.tsv');
  b = path.join(dir, 'b.tsv');
  await fsp.writeFile(a, A.join('\n'));
  await fsp.writeFile(b, `${B.join('\n')}\n`);
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('teacher score stats', () => {
  it('matches hand-computed distributions and agreement', async () => {
    const { stats } = await scoreStats([a, b]);
    const [sa, sb] = stats.files;
    expect(sa.count).toBe(5);
    expect(sa.pos.mean).toBeCloseTo(2.4, 12); // (3+2+1+5+1)/5
    expect(sa.pos.quantiles.p50).toBe(2); // sorted 1 1 2 3 5
    expect(sa.margin.mean).toBeCloseTo(0.6, 12);
    expect(sa.margin.std).toBeCloseTo(Math.sqrt(23.2 / 5), 12); // population std
    // sorted margins -2 -1 0 2 4: p25 at h=1, p75 at h=3, p5 at h=0.2
    expect(sa.margin.quantiles).toMatchObject({ p0: -2, p25: -1, p50: 0, p75: 2, p100: 4 });
    expect(sa.margin.quantiles.p5).toBeCloseTo(-1.8, 12);
    expect([sa.margin.positive, sa.margin.zero, sa.margin.negative]).toEqual([0.4, 0.2, 0.4]);
    expect(sb.margin.quantiles.p50).toBe(1);

    const [ag] = stats.agreement;
    // Co-moments of the margins: sxy 18.2, sxx 23.2, syy 43.2.
    expect(ag.pearson).toBeCloseTo(18.2 / Math.sqrt(23.2 * 43.2), 12);
    // Ranks A [4,3,2,5,1], B [2.5,2.5,1,5,4]: sxy 3.5, sxx 10, syy 9.5.
    expect(ag.spearman).toBeCloseTo(3.5 / Math.sqrt(95), 12);
    // Pairs (2,1) (0,1) (-1,-3) (4,6) (-2,3): one opposite order, one tie.
    expect(ag.disagree).toBeCloseTo(0.2, 12);
    expect(ag.tie).toBeCloseTo(0.2, 12);
    expect(stats.sample).toEqual({ rows: 5, of: 5, exact: true });
  });

  it('keeps exact moments and correlation when quantiles come from a sample', async () => {
    const { stats } = await scoreStats([a, b], { sampleCap: 3 });
    expect(stats.sample).toEqual({ rows: 3, of: 5, exact: false });
    expect(stats.files[0].margin.mean).toBeCloseTo(0.6, 12);
    expect(stats.files[0].margin.quantiles.p0).toBe(-2);
    expect(stats.agreement[0].pearson).toBeCloseTo(18.2 / Math.sqrt(23.2 * 43.2), 12);
  });

  it('writes stats.json and a histogram image', async () => {
    const out = path.join(dir, 'out');
    const s = await writeScoreStats([a, b], out);
    const json = JSON.parse(await fsp.readFile(path.join(out, 'stats.json'), 'utf8'));
    expect(json.files).toHaveLength(2);
    expect(json.agreement[0].disagree).toBeCloseTo(0.2, 12);
    const png = await fsp.readFile(s.histogram!.png);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(await fsp.readFile(s.histogram!.svg, 'utf8')).toContain('a.tsv');
  });

  it('helpers: ranks with ties, interpolated quantiles, spearman of a monotone map', () => {
    expect(Array.from(ranks([10, 20, 10, 5]))).toEqual([2.5, 4, 2.5, 1]);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12);
  });
});
