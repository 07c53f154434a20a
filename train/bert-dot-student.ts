import { ConfigError } from '../common/config.js';
import { DistilBert, type DistilBertConfig } from '../models/distilbert.js';
import { loadDistilBert } from '../models/weights/hf.js';
import type { Student } from './student.js';

/** The size fields of a DistilBERT config that a random student may set in the `model` section. */
const SIZE_FIELDS = ['vocab_size', 'max_position_embeddings', 'dim', 'n_layers', 'n_heads', 'hidden_dim'] as const;

/**
 * The DistilBERT for a run's `model` section (models/config.ts): the HuggingFace folder `init` names (e.g.
 * distilbert-base-uncased for the paper), else a random student of the configured size (DistilBERT-base
 * sizes for fields not given), seeded by `run.seed`.
 */
export async function modelFromConfig(model: Record<string, unknown>, seed: number): Promise<DistilBert> {
  if (typeof model.init === 'string' && model.init !== '' && model.init !== 'random') return loadDistilBert(model.init);
  const sizes: Partial<DistilBertConfig> = {};
  for (const f of SIZE_FIELDS) if (typeof model[f] === 'number') sizes[f] = model[f] as number;
  try {
    return DistilBert.random(sizes, seed);
  } catch (e) {
    throw new ConfigError(`model: ${(e as Error).message}`);
  }
}

/** BERT_Dot over a DistilBERT as the trainer sees it; the stored config is an HF DistilBERT config.json. */
export function bertDotStudent(model: DistilBert): Student {
  return {
    params: model.weights,
    encode: (ids, mask) => model.encode(ids, mask),
    config: { ...model.config, model_type: 'distilbert', architectures: ['DistilBertModel'] },
  };
}
