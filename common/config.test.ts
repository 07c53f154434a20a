import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { applySets, ConfigError, loadConfig } from './config.js';
import { tempFiles } from './testing.js';

const Schema = z.strictObject({
  train: z.strictObject({ lr: z.number().default(7e-6), loss: z.enum(['margin-mse', 'ranknet']).default('margin-mse') }).default({ lr: 7e-6, loss: 'margin-mse' }),
  name: z.string().default('run'),
});

const yamlFile = tempFiles('cfg-');

describe('loadConfig', () => {
  it('fills defaults, then the file, then --set overrides parsed as YAML scalars', async () => {
    expect(await loadConfig(Schema, undefined)).toEqual({ train: { lr: 7e-6, loss: 'margin-mse' }, name: 'run' });
    const f = yamlFile('train:\n  loss: ranknet\n');
    expect(await loadConfig(Schema, f, ['train.lr=1e-5', 'name=x'])).toEqual({ train: { lr: 1e-5, loss: 'ranknet' }, name: 'x' });
  });

  it('names an unknown key with its path', async () => {
    const f = yamlFile('train:\n  lr: 0.1\n  batchsize: 32\n');
    await expect(loadConfig(Schema, f)).rejects.toThrow(/unknown key 'train\.batchsize'/);
  });

  it('names a key with a wrong type, and the file', async () => {
    const f = yamlFile('train:\n  lr: fast\n');
    const err = await loadConfig(Schema, f).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(f);
    expect(err.message).toMatch(/'train\.lr': .*number/);
  });

  it('rejects malformed --set and setting inside a scalar', () => {
    expect(() => applySets({}, ['lr'])).toThrow(/expected key\.path=value/);
    expect(() => applySets({ name: 'a' }, ['name.x=1'])).toThrow(/'name' is not a section/);
  });

  it('does not modify its input', () => {
    const raw = { train: { lr: 1 } };
    applySets(raw, ['train.lr=2']);
    expect(raw.train.lr).toBe(1);
  });
});

describe('applySets refuses keys that reach prototypes', () => {
  it.each(['__proto__.x=1', 'train.__proto__.x=1', 'constructor.x=1', 'train.prototype=1', 'train..lr=1'])('%s', (set) => {
    expect(() => applySets({}, [set])).toThrow(ConfigError);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('names the --set whose value is not YAML, in one line', () => {
    expect(() => applySets({}, ['train.lr=[1,'])).toThrow(/^--set train\.lr=\[1,: the value is not YAML \([^\n]*\)$/);
  });
});
