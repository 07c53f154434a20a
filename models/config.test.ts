import { describe, expect, it } from 'vitest';
import { ModelConfig } from './config.js';

describe('model config section', () => {
  it('defaults to a random student of distilbert-base size (no sizes set)', () => {
    expect(ModelConfig.parse({})).toEqual({ init: null });
  });
  it('takes an HF folder or sizes, and rejects unknown keys and bad sizes by name', () => {
    expect(ModelConfig.parse({ init: 'models/distilbert-base-uncased' }).init).toBe('models/distilbert-base-uncased');
    expect(ModelConfig.parse({ dim: 128, n_layers: 2 })).toEqual({ init: null, dim: 128, n_layers: 2 });
    expect(() => ModelConfig.parse({ layers: 2 })).toThrow(/layers/);
    expect(() => ModelConfig.parse({ dim: 0 })).toThrow(/dim/);
    expect(() => ModelConfig.parse({ n_heads: 1.5 })).toThrow(/n_heads/);
  });
});
