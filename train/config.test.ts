import { describe, expect, it } from 'vitest';
import { Config } from '../config/schema.js';
import { ConfigError, applySets, parseConfig } from '../config/load.js';
import { TrainConfig } from './config.js';

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

  it('takes --set overrides through the whole tree', () => {
    const raw = applySets({}, ['train.lr=1e-5', 'train.validation.measure=mrr@10', 'train.max_grad_norm=1']);
    const c = parseConfig(Config, raw, '(flags)');
    expect(c.train.lr).toBe(1e-5);
    expect(c.train.validation.measure).toBe('mrr@10');
    expect(c.train.max_grad_norm).toBe(1);
    expect(() => parseConfig(Config, applySets({}, ['train.bogus=1']), '(flags)')).toThrow(/unknown key 'train\.bogus'/);
  });
});
