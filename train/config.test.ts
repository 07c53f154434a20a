import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../common/config.js';
import { TrainConfig } from './config.js';
import { LOSSES } from './losses.js';

const parse = (raw: unknown) => parseConfig(TrainConfig, raw, 'x.yaml');

describe('train config', () => {
  it('has the paper defaults', () => {
    const c = TrainConfig.parse({});
    expect(c.batch_size).toBe(32);
    expect(c.lr).toBe(7e-6);
    expect(c.loss).toBe('margin-mse');
    expect(c.adam).toEqual({ beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    expect(c.validation.measure).toBe('ndcg@10');
    expect(c.on_nonfinite).toBe('stop');
  });

  it('fails on an unknown key, naming it', () => {
    expect(() => parse({ lr: 1e-5, learning_rate: 1 })).toThrow(/unknown key 'learning_rate'/);
    expect(() => parse({ validation: { measure: 'mrr@10', paitence: 3 } })).toThrow(/unknown key 'validation\.paitence'/);
  });

  it('fails on a wrong type, naming the key', () => {
    expect(() => parse({ batch_size: 'big' })).toThrow(/'batch_size'/);
    expect(() => parse({ validation: { every: -1 } })).toThrow(/'validation\.every'/);
    expect(() => parse({ loss: 'hinge' })).toThrow(/'loss'/);
    expect(() => parse({ adam: { beta1: 1.5 } })).toThrow(/'adam\.beta1'/);
    expect(() => parse({ batch_size: 2.5 })).toThrow(ConfigError);
  });

  it('takes exactly the loss names of train/losses.ts, or a weighted list of terms', () => {
    for (const loss of Object.keys(LOSSES)) expect(parse({ loss }).loss).toBe(loss);
    expect(() => parse({ loss: 'margin_mse' })).toThrow(/'loss': a loss name: margin-mse, mse, ranknet, kl, in-batch/);
    const mix = [{ name: 'margin-mse' }, { name: 'in-batch', weight: 0.1, scale: 20 }];
    expect(parse({ loss: mix }).loss).toEqual([{ name: 'margin-mse', weight: 1 }, { name: 'in-batch', weight: 0.1, scale: 20 }]);
    expect(() => parse({ loss: [{ name: 'margin-mse' }, { name: 'in-batch', temperature: 2 }] })).toThrow(/'loss\.1'.*temperature/);
  });
});
