import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { applySets } from '../common/config.js';
import { SweepConfig } from './config.js';
import { expandRuns, runSets, showValue } from './expand.js';
import { planCommands, planRuns } from './runs.js';

const sweep = (over: object) => ({ ...SweepConfig.parse({ name: 's', params: { 'run.seed': [1] }, ...over }), file: '/x/s.yaml' });

describe('sweep expansion', () => {
  it('takes every grid combination, in odometer order, named by the shortest distinct key suffix', () => {
    const runs = expandRuns(sweep({ params: { 'train.lr': [0.001, 0.0003], 'teacher.lr': [1], 'model.n_layers': [1, 2, 3] } }));
    expect(runs.map((r) => r.name)).toEqual([
      'train.lr=0.001_teacher.lr=1_n_layers=1',
      'train.lr=0.001_teacher.lr=1_n_layers=2',
      'train.lr=0.001_teacher.lr=1_n_layers=3',
      'train.lr=0.0003_teacher.lr=1_n_layers=1',
      'train.lr=0.0003_teacher.lr=1_n_layers=2',
      'train.lr=0.0003_teacher.lr=1_n_layers=3',
    ]);
    expect(runs[4].values).toEqual({ 'train.lr': 0.0003, 'teacher.lr': 1, 'model.n_layers': 2 });
  });

  it('draws a seeded random search within ranges, 3 significant digits, no duplicate runs', () => {
    const s = sweep({ method: 'random', samples: 20, seed: 3, params: { 'train.lr': { min: 1e-5, max: 1e-3, log: true }, 'train.loss': ['margin_mse', 'ranknet'], 'data.batch': { min: 8, max: 64, int: true } } });
    const a = expandRuns(s);
    expect(expandRuns(s)).toEqual(a);
    expect(expandRuns({ ...s, seed: 4 })).not.toEqual(a);
    expect(a).toHaveLength(20);
    for (const r of a) {
      const lr = r.values['train.lr'] as number;
      expect(lr).toBeGreaterThanOrEqual(1e-5);
      expect(lr).toBeLessThanOrEqual(1e-3);
      expect(Number(lr.toPrecision(3))).toBe(lr);
      expect(Number.isInteger(r.values['data.batch'])).toBe(true);
      expect(r.name).toBe(`lr=${lr}_loss=${r.values['train.loss']}_batch=${r.values['data.batch']}`);
    }
    // Choices only: 2 × 2 distinct combinations however many samples are drawn.
    expect(expandRuns(sweep({ method: 'random', samples: 50, params: { a: [1, 2], b: ['x', 'y'] } }))).toHaveLength(4);
  });

  it('turns a run into --set overrides that parse back to its values and folder', () => {
    const s = sweep({ set: ['train.max_steps=5'], params: { 'train.loss': ['a b: c'], 'train.lr': [1e-4], 'train.tag': ['1e-4', 'x'] } });
    const [run] = expandRuns(s);
    const sets = runSets(s, run, '/tmp/sw eep/s');
    expect(applySets({}, sets)).toEqual({
      train: { max_steps: 5, loss: 'a b: c', lr: 1e-4, tag: '1e-4' },
      run: { out_dir: '/tmp/sw eep/s', name: run.name },
    });
  });

  it('a listed value may be a list or mapping (a loss mix): a readable folder name, passed to the run as YAML', () => {
    const mix = [{ name: 'margin-mse' }, { name: 'in-batch', weight: 0.5, scale: 20 }];
    const s = sweep({ params: { 'train.loss': ['kl', mix] } });
    const runs = expandRuns(s);
    expect(runs.map((r) => r.name)).toEqual(['loss=kl', 'loss=margin-mse+in-batch-0.5-20']);
    expect(applySets({}, runSets(s, runs[1], '/tmp/s'))).toMatchObject({ train: { loss: mix } });
    expect(showValue(mix)).toBe('[ { name: margin-mse }, { name: in-batch, weight: 0.5, scale: 20 } ]');
  });

  it('prints plan lines that a shell runs with exactly the planned arguments', () => {
    const s = sweep({ out_dir: '/tmp/plan test', params: { 'train.loss': ["it's", 'x'] } });
    const runs = planRuns(s);
    const lines = planCommands(s, runs, (run) => ({ file: 'printf', args: ['%s\\n', ...run.sets], cwd: '/tmp' }));
    expect(lines).toHaveLength(2);
    for (const [i, line] of lines.entries()) {
      const out = execFileSync('sh', ['-c', line], { encoding: 'utf8' });
      expect(out.trimEnd().split('\n')).toEqual(runs[i].sets);
    }
  });
});
