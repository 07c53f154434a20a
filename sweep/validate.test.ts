import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SweepConfig } from './config.js';
import { planRuns } from './runs.js';
import { missingMetric, type SummaryRow } from './summary.js';
import { validateRuns } from './validate.js';

const sweepOf = (raw: Record<string, unknown>, base?: string) => ({ ...SweepConfig.parse({ name: 's', out_dir: os.tmpdir(), ...raw }), base, file: '/sweeps/s.yaml' });

describe('validateRuns', () => {
  it('returns every run config, and blames the sweep file, naming the run and the key, for a bad one', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sweep-validate-'));
    const base = path.join(dir, 'base.yaml');
    await fsp.writeFile(base, 'train:\n  max_steps: 3\n');
    const good = sweepOf({ params: { 'train.lr': [1e-3, 2e-3] } }, base);
    expect((await validateRuns(good, planRuns(good))).map((c) => [c.train.lr, c.train.max_steps])).toEqual([[1e-3, 3], [2e-3, 3]]);

    const cases: [Record<string, unknown>, string][] = [
      [{ params: { 'train.lrr': [1] } }, "/sweeps/s.yaml: run lrr=1 (its set and params on base " + base + "): invalid config:\n  unknown key 'train.lrr'"],
      [{ params: { 'train.lr': [1e-3, -1] } }, "/sweeps/s.yaml: run lr=-1 (its set and params on base " + base + "): invalid config:\n  'train.lr':"],
      [{ set: ['__proto__.x=1'], params: { 'train.lr': [1e-3] } }, "/sweeps/s.yaml: run lr=0.001 (its set and params on base " + base + "): set __proto__.x=1: '__proto__' is not a config key"],
    ];
    for (const [raw, message] of cases) {
      const sweep = sweepOf(raw, base);
      await expect(validateRuns(sweep, planRuns(sweep))).rejects.toThrow(message);
    }
    const missing = sweepOf({ params: { 'train.lr': [1e-3] } }, path.join(dir, 'nope.yaml'));
    await expect(validateRuns(missing, planRuns(missing))).rejects.toThrow(`/sweeps/s.yaml: run lr=0.001 (its set and params on base ${path.join(dir, 'nope.yaml')}): cannot read the config file`);
  });
});

describe('sweep ranges', () => {
  it('refuses min > max and a log range from 0 or below (which drew lr=NaN)', () => {
    const range = (r: Record<string, unknown>) => SweepConfig.safeParse({ name: 's', method: 'random', samples: 2, params: { 'train.lr': r } });
    expect(range({ min: 1e-4, max: 1e-3, log: true }).success).toBe(true);
    expect(range({ min: 1e-2, max: 1e-3 }).error?.issues[0]).toMatchObject({ path: ['params', 'train.lr'], message: 'min must not be above max' });
    expect(range({ min: 0, max: 1e-3, log: true }).error?.issues[0]).toMatchObject({ message: 'a log range needs min > 0' });
  });
});

describe('missingMetric', () => {
  const sweep = sweepOf({ metric: { path: 'best.nope' }, params: { 'train.lr': [1, 2] } });
  const row = (run: string, status: SummaryRow['status']): SummaryRow => ({ rank: null, run, values: {}, metric: status === 'done' ? 0.5 : null, status });
  it('names the metric path when finished runs exist and none has it', () => {
    expect(missingMetric(sweep, [row('a', 'no-metric'), row('b', 'pending')])).toBe(
      `/sweeps/s.yaml: metric.path 'best.nope' is not a number in the summary.json of any of the 1 finished runs (e.g. ${path.join(os.tmpdir(), 's', 'a', 'summary.json')}); set metric.path to a number there, such as best.value`,
    );
  });
  it('is null when a run has the metric, or no run has finished', () => {
    expect(missingMetric(sweep, [row('a', 'no-metric'), row('b', 'done')])).toBeNull();
    expect(missingMetric(sweep, [row('a', 'pending')])).toBeNull();
  });
});
