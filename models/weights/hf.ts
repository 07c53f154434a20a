import { promises as fsp } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { makeDir, writeFileAtomic, writeJsonAtomic } from '../../common/atomic.js';
import { InputError } from '../../common/errors.js';
import { checkConfig, DISTILBERT_BASE, DistilBert, distilbertShapes, type DistilBertConfig } from '../distilbert.js';
import { readModelWeights, type ModelWeights } from './folder.js';
import { writeSafetensors } from './safetensors.js';

/**
 * HuggingFace folders in and out for the DistilBERT student. In: config.json + model.safetensors, else
 * pytorch_model.bin (models/weights/folder.ts). Out: config.json + model.safetensors (HF names, Linear
 * [out, in]), and with a vocabulary vocab.txt and the tokenizer files, so that transformers'
 * `AutoModel.from_pretrained(dir)` and `AutoTokenizer.from_pretrained(dir)` load it.
 */

/** Names of a DistilBertForMaskedLM checkpoint's MLM head and buffers: present in public checkpoints, unused here. */
const IGNORED = [/^vocab_transform\./, /^vocab_layer_norm\./, /^vocab_projector\./, /^embeddings\.position_ids$/];

/** Reads and checks a folder's config.json as a DistilBertConfig. */
export async function readDistilBertConfig(dir: string): Promise<DistilBertConfig> {
  const file = path.join(dir, 'config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, undefined, 'a readable JSON HF config (config.json)', (e as Error).message);
  }
  if (raw.model_type !== undefined && raw.model_type !== 'distilbert') {
    throw new InputError(file, undefined, 'model_type "distilbert"', JSON.stringify(raw.model_type));
  }
  const problems = checkConfig(raw);
  if (problems.length) throw new InputError(file, undefined, problems.join('; '));
  return { ...DISTILBERT_BASE, ...raw } as DistilBertConfig;
}

/**
 * Loads a HF DistilBERT folder (DistilBertModel, or the encoder of DistilBertForMaskedLM & co.: names with
 * or without `distilbert.`, the MLM head ignored). F16/BF16 weights are widened to float32. Every parameter
 * must be there with the shape the config implies. `read`: the folder's weights when already read.
 */
export async function loadDistilBert(dir: string, read?: ModelWeights): Promise<DistilBert> {
  const config = await readDistilBertConfig(dir);
  const { file, tensors } = read ?? (await readModelWeights(dir));
  const want = distilbertShapes(config);
  const found = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  const unexpected: string[] = [];
  for (const [raw, t] of tensors) {
    const name = raw.replace(/^distilbert\./, '');
    if (IGNORED.some((re) => re.test(name))) continue;
    if (!want.has(name)) unexpected.push(raw);
    else found.set(name, t);
  }
  const missing = [...want.keys()].filter((n) => !found.has(n));
  if (missing.length || unexpected.length) {
    const say = (xs: string[]) => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? ` (+${xs.length - 5} more)` : ''}`;
    throw new InputError(file, undefined, `the DistilBertModel parameters for config.json (${config.n_layers} layers)`,
      [missing.length ? `missing ${say(missing)}` : '', unexpected.length ? `unexpected ${say(unexpected)}` : ''].filter(Boolean).join('; '));
  }
  for (const [name, shape] of want) {
    const t = found.get(name)!;
    if (t.shape.join(',') !== shape.join(',')) {
      throw new InputError(file, undefined, `'${name}' of shape [${shape}] (from config.json: dim ${config.dim}, hidden_dim ${config.hidden_dim}, vocab_size ${config.vocab_size}, max_position_embeddings ${config.max_position_embeddings})`, `[${t.shape}]`);
    }
    if (!(t.data instanceof Float32Array)) throw new InputError(file, undefined, `'${name}' as floats`, 'an integer dtype');
  }
  const weights = new Map<string, tf.Variable>();
  for (const [name, shape] of want) {
    const init = tf.tensor(found.get(name)!.data, shape, 'float32');
    weights.set(name, tf.variable(init, true));
    init.dispose();
  }
  return new DistilBert(config, weights);
}

export interface SaveOptions {
  /** The WordPiece vocabulary the model was trained with (copied to vocab.txt); none: no tokenizer files. */
  vocabFile?: string;
  /** Tokenizer max length (tokenizer_config.json `model_max_length`); default max_position_embeddings. */
  maxLength?: number;
}

/**
 * Writes a folder that transformers loads as DistilBertModel: config.json, model.safetensors (HF names without
 * prefix, float32, Linear [out, in]), and with a vocabulary vocab.txt, tokenizer_config.json and
 * special_tokens_map.json. Each file is written atomically; the folder may hold other files (e.g. a trainer's
 * state).
 */
export async function saveDistilBert(model: DistilBert, dir: string, opts: SaveOptions = {}): Promise<void> {
  const vocab = opts.vocabFile === undefined ? undefined : await readVocab(opts.vocabFile, model.config.vocab_size);
  await makeDir(dir);
  const config = {
    ...DISTILBERT_BASE,
    ...model.config,
    model_type: 'distilbert',
    architectures: ['DistilBertModel'],
    torch_dtype: 'float32',
  };
  await writeSafetensors(path.join(dir, 'model.safetensors'), model.weights);
  await writeJsonAtomic(path.join(dir, 'config.json'), config);
  if (vocab !== undefined) await writeTokenizerFiles(dir, vocab, 'DistilBertTokenizer', opts.maxLength ?? model.config.max_position_embeddings);
}

/** A WordPiece vocab.txt's text, checked to fit the model's embedding table (`vocabSize` rows). */
export async function readVocab(file: string, vocabSize: number): Promise<string> {
  const vocab = await fsp.readFile(file, 'utf8').catch((e: Error) => {
    throw new InputError(file, undefined, 'a readable WordPiece vocab.txt', e.message);
  });
  const lines = vocab.replace(/\n$/, '').split('\n').length;
  if (lines > vocabSize) throw new InputError(file, undefined, `at most vocab_size = ${vocabSize} tokens`, `${lines} lines`);
  return vocab;
}

/**
 * vocab.txt, special_tokens_map.json and tokenizer_config.json of an uncased WordPiece tokenizer (the one
 * data/tokenizer.ts implements), so transformers' AutoTokenizer loads the folder too.
 */
export async function writeTokenizerFiles(dir: string, vocab: string, tokenizerClass: 'BertTokenizer' | 'DistilBertTokenizer', maxLength: number): Promise<void> {
  await writeFileAtomic(path.join(dir, 'vocab.txt'), vocab);
  const special = { unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' };
  await writeJsonAtomic(path.join(dir, 'special_tokens_map.json'), special);
  await writeJsonAtomic(path.join(dir, 'tokenizer_config.json'), {
    tokenizer_class: tokenizerClass,
    do_lower_case: true,
    tokenize_chinese_chars: true,
    strip_accents: null,
    model_max_length: maxLength,
    clean_up_tokenization_spaces: true,
    ...special,
  });
}
