import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { readFileSync } from 'node:fs';
import { ROOT } from '../common/paths.js';
import { applySets, parseConfig } from '../common/config.js';
import { Config } from './config.js';

/** The shipped configs parse under the strict schema, `model` section (models/config.ts) included. */
const load = (name: string) => parseConfig(Config, YAML.parse(readFileSync(path.join(ROOT, 'configs', name), 'utf8')), name);

describe('configs', () => {
  it('msmarco-bert-dot-margin-mse.yaml has the paper values', () => {
    const config = load('msmarco-bert-dot-margin-mse.yaml');
    expect(config.train).toMatchObject({ loss: 'margin-mse', batch_size: 32, lr: 7e-6, max_grad_norm: null });
    expect(config.train.validation).toMatchObject({ every: 4000, measure: 'ndcg@10', patience: 30, min_steps: 300000 });
    expect(config.data).toMatchObject({ query_max_length: 30, passage_max_length: 200, triples_format: 'ids-scores' });
    expect(config.model.init).toMatch(/distilbert-base-uncased/);
  });

  it('tiny.yaml is a 2-layer dim-32 student', () => {
    const config = load('tiny.yaml');
    expect(config.model).toMatchObject({ dim: 32, n_layers: 2 });
    expect(config.train.max_steps).toBe(300);
  });

  it('train: takes --set overrides through the whole tree', () => {
    const raw = applySets({}, ['train.lr=1e-5', 'train.validation.measure=mrr@10', 'train.max_grad_norm=1']);
    const c = parseConfig(Config, raw, '(flags)');
    expect(c.train.lr).toBe(1e-5);
    expect(c.train.validation.measure).toBe('mrr@10');
    expect(c.train.max_grad_norm).toBe(1);
    expect(() => parseConfig(Config, applySets({}, ['train.bogus=1']), '(flags)')).toThrow(/unknown key 'train\.bogus'/);
  });
});
