import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ROOT } from '../common/paths.js';
import { generate, type DatasetFiles } from '../quickstart/generate.js';
import { expectNoNoise, expectOneLineError, runCli, scratch } from './testing.js';

/**
 * `margin-mse sweep ...` as a user runs it (issue 16): `sweep plan` validates the sweep file as `sweep run`
 * does, and a mistake in the sweep file is blamed on the sweep file, not on the base config.
 */
vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 }); // cases wait for a CLI slot (cli/testing.ts)
const s = scratch('sweep-errors-');

/** A sweep file beside a copy of configs/tiny.yaml (its `base`). */
const sweepFile = (name: string, body: string): string =>
  s.file(`${name}.yaml`, `name: ${name}\nbase: base.yaml\nout_dir: ${s.at('out')}\n${body}`);

let f: DatasetFiles;

beforeAll(async () => {
  copyFileSync(path.join(ROOT, 'configs', 'tiny.yaml'), s.at('base.yaml'));
  f = await generate(s.at('data'), { topics: 20, passagesPerTopic: 2, extraPassages: 10, trainQueries: 30, devQueries: 5, valQueries: 5, bm25Depth: 10, triplesPerQuery: 2 });
});

describe.concurrent('sweep plan validates the sweep file (was: printed commands for every mistake, exit 0)', () => {
  it.each([
    ['an unknown param key', 'unknown-key', 'params:\n  train.lrr: [1, 2]\n', 'train.lrr'],
    ['a negative learning rate', 'negative-lr', 'params:\n  train.lr: [-1, 1.0e-3]\n', 'train.lr'],
    ['a log range with min 0 (was: lr=NaN)', 'log-zero', 'method: random\nsamples: 3\nparams:\n  train.lr: {min: 0, max: 1.0e-3, log: true}\n', 'train.lr'],
    ['a range with min > max', 'min-max', 'method: random\nsamples: 3\nparams:\n  train.lr: {min: 1.0e-2, max: 1.0e-3}\n', 'train.lr'],
    ['a bad value in set', 'bad-set', 'set: ["train.max_steps=abc"]\nparams:\n  train.lr: [1.0e-3]\n', 'train.max_steps'],
    ['a __proto__ key in set', 'proto-set', 'set: ["__proto__.polluted=1"]\nparams:\n  train.lr: [1.0e-3]\n', '__proto__'],
  ])('%s is one error naming the sweep file and the key', async (_what, name, body, key) => {
    const file = sweepFile(name, body);
    const r = await runCli(['sweep', 'plan', '--config', file]);
    expectOneLineError(r, file, key);
    expect(r.stdout).toBe('');
  });

  it('a missing base config is one error naming the sweep file and the base', async () => {
    const file = s.file('missing-base.yaml', `name: missing-base\nbase: nope.yaml\nout_dir: ${s.at('out')}\nparams:\n  train.lr: [1.0e-3]\n`);
    expectOneLineError(await runCli(['sweep', 'plan', '--config', file]), file, 'nope.yaml');
  });
});

describe.concurrent('sweep run and summarize', () => {
  it('sweep run blames the sweep file for its unknown key, not the base config', async () => {
    const file = sweepFile('run-unknown', 'params:\n  train.lrr: [1, 2]\n');
    const message = expectOneLineError(await runCli(['sweep', 'run', '--config', file]), file, 'train.lrr');
    expect(message).not.toContain(`${s.at('base.yaml')}:`);
  });

  it.each(['abc', '0'])('sweep run --concurrency %s is refused naming the flag (was: p-queue TypeError stack)', async (v) => {
    const sets = [`data.collection=${f.collection}`, `data.queries=${f.queriesTrain}`, `data.triples=${f.trainScores}`, 'data.triples_format=ids-scores',
      `data.cache_dir=${s.at(`cache-${v}`)}`, 'data.query_max_length=12', 'data.passage_max_length=32', 'train.validation.every=0', 'train.max_steps=1', 'train.batch_size=4', 'run.backend=cpu'];
    const file = sweepFile(`conc-${v}`, `set: ${JSON.stringify(sets)}\nparams:\n  train.lr: [1.0e-3]\n`);
    expectOneLineError(await runCli(['sweep', 'run', '--config', file, '--concurrency', v]), '--concurrency');
  });

  it('summarize with a metric path no run has says so, naming it (was: silent, exit 0)', async () => {
    const file = sweepFile('summ', 'metric: {path: best.nope, name: val}\nparams:\n  train.lr: [1.0e-3, 2.0e-3]\n');
    for (const run of ['lr=0.001', 'lr=0.002']) {
      const dir = path.join(s.at('out'), 'summ', run);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ status: 'finished', reason: 'max_steps', steps: 2, best: { step: 2, measure: 'mrr@10', value: 0.5 } }));
    }
    const r = await runCli(['sweep', 'summarize', '--config', file]);
    expectNoNoise(r.stderr);
    expect(r.stderr).toMatch(/best\.nope/);
  });
});
