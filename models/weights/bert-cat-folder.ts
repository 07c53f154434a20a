import path from 'node:path';
import { makeDir, writeJsonAtomic } from '../../common/atomic.js';
import type { BertCat } from '../bert-cat.js';
import { readVocab, writeTokenizerFiles } from './hf.js';
import { writeSafetensors } from './safetensors.js';

/**
 * Writes a BERT_Cat teacher as a safetensors folder that loadBertCat (models/bert-cat.ts) reads back in
 * the same form: model.safetensors with the checkpoint's own names (hf `bert.*` + `classifier.*`, or
 * matchmaker `bert_model.*` + `_classification_layer.*`), only the tensors the model reads, float32;
 * config.json = the source's config.json with the sizes the model was built with (under DistilBertConfig
 * names for a DistilBERT encoder, BertConfig names otherwise), so the folder no longer depends on sizes
 * read off the weights; and with a vocabulary vocab.txt and the tokenizer files.
 */
export async function saveBertCat(model: BertCat, dir: string, opts: { sourceConfig?: Record<string, unknown>; vocabFile?: string } = {}): Promise<void> {
  const c = model.config;
  const vocab = opts.vocabFile === undefined ? undefined : await readVocab(opts.vocabFile, c.vocab_size);
  const sizes =
    model.encoder === 'distilbert'
      ? { vocab_size: c.vocab_size, max_position_embeddings: c.max_position_embeddings, dim: c.hidden_size, n_layers: c.num_hidden_layers, n_heads: c.num_attention_heads, hidden_dim: c.intermediate_size, activation: c.hidden_act }
      : {
          vocab_size: c.vocab_size,
          hidden_size: c.hidden_size,
          num_hidden_layers: c.num_hidden_layers,
          num_attention_heads: c.num_attention_heads,
          intermediate_size: c.intermediate_size,
          hidden_act: c.hidden_act,
          max_position_embeddings: c.max_position_embeddings,
          type_vocab_size: c.type_vocab_size,
          layer_norm_eps: c.layer_norm_eps,
        };
  await makeDir(dir);
  await writeSafetensors(path.join(dir, 'model.safetensors'), model.weights);
  await writeJsonAtomic(path.join(dir, 'config.json'), { ...opts.sourceConfig, ...sizes, torch_dtype: 'float32' });
  const tokenizer = model.encoder === 'distilbert' ? 'DistilBertTokenizer' : 'BertTokenizer';
  if (vocab !== undefined) await writeTokenizerFiles(dir, vocab, tokenizer, c.max_position_embeddings);
}
