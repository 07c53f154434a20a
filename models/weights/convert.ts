import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeDirAtomic } from '../../common/atomic.js';
import { InputError } from '../../common/errors.js';
import { resolveVocab } from '../../data/config.js';
import { isBertCatCheckpoint, loadBertCat } from '../bert-cat.js';
import { saveBertCat } from './bert-cat-folder.js';
import { readModelWeights } from './folder.js';
import { loadDistilBert, saveDistilBert } from './hf.js';

/**
 * `margin-mse model convert`: a model folder (model.safetensors or pytorch_model.bin) rewritten as the HF
 * safetensors folder this project writes: for a DistilBERT student what `train export` writes
 * (models/weights/hf.ts saveDistilBert), for a BERT_Cat teacher the same files with the checkpoint's own
 * names (models/weights/bert-cat-folder.ts). The model is loaded with the same checks as everywhere else,
 * so only a folder that loads is converted, and only the tensors the model reads are written (an MLM head,
 * position_ids buffers are dropped); float16/bfloat16 weights are written as their float32 values.
 *
 * The vocabulary: the source's vocab.txt when it has one; else the bundled bert-base-uncased vocab when
 * config.json names an uncased BERT base (`_name_or_path`, or matchmaker's `bert_model`) and the model has
 * its 30522 rows: DistilBERT's uncased vocabulary is BERT's; else none (eval and teachers then need --vocab).
 */
export interface ConvertSummary {
  /** The weight file read. */
  read: string;
  /** e.g. "DistilBERT student (2 layers, dim 32)". */
  model: string;
  tensors: number;
  vocab: { from: string; bundled: boolean } | null;
}

/** Uncased BERT and DistilBERT bases, with or without a hub owner: they share bert-base-uncased's vocabulary. */
const UNCASED_BASE = /^(?:[\w.-]+\/)?(?:distil)?bert-(?:base|large)-uncased$/;
const UNCASED_ROWS = 30522;

export async function convertModelFolder(src: string, out: string): Promise<ConvertSummary> {
  const stat = await fsp.stat(src).catch(() => null);
  if (!stat?.isDirectory()) throw new InputError(src, undefined, 'a model folder (--model)', stat ? 'a file' : 'no such folder');
  await checkOut(src, out);
  const config = await readConfig(src);
  const weights = await readModelWeights(src);
  if (isBertCatCheckpoint(new Set(weights.tensors.keys()))) {
    const model = await loadBertCat(src, weights);
    weights.tensors.clear(); // the raw copies are no longer needed while writing
    try {
      const vocab = pickVocab(src, config, model.config.vocab_size);
      await writeDirAtomic(out, (dir) => saveBertCat(model, dir, { sourceConfig: config, vocabFile: vocab?.from }));
      const c = model.config;
      const what = `BERT_Cat teacher (${model.form} form, ${model.encoder === 'distilbert' ? 'DistilBERT' : 'BERT'} encoder, ${c.num_hidden_layers} layers, dim ${c.hidden_size})`;
      return { read: weights.file, model: what, tensors: model.weights.size, vocab };
    } finally {
      model.dispose();
    }
  }
  const model = await loadDistilBert(src, weights);
  weights.tensors.clear();
  try {
    const vocab = pickVocab(src, config, model.config.vocab_size);
    await writeDirAtomic(out, (dir) => saveDistilBert(model, dir, { vocabFile: vocab?.from }));
    return { read: weights.file, model: `DistilBERT student (${model.config.n_layers} layers, dim ${model.config.dim})`, tensors: model.weights.size, vocab };
  } finally {
    model.dispose();
  }
}

/** --out must be a new or empty folder, not the source: a conversion never overwrites a model. */
async function checkOut(src: string, out: string): Promise<void> {
  const same = path.resolve(src) === path.resolve(out) || (existsSync(out) && (await fsp.realpath(src)) === (await fsp.realpath(out)));
  if (same) throw new InputError(out, undefined, 'an --out folder other than --model');
  const stat = await fsp.stat(out).catch(() => null);
  if (!stat) return;
  if (!stat.isDirectory()) throw new InputError(out, undefined, 'a new or empty folder for --out', 'a file');
  const entries = await fsp.readdir(out);
  if (entries.length > 0) throw new InputError(out, undefined, 'a new or empty folder for --out (nothing is overwritten)', `a folder holding ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}`);
}

/** The source's config.json as an object ({} when there is none: matchmaker folders may lack one). */
async function readConfig(dir: string): Promise<Record<string, unknown>> {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, undefined, 'a JSON config', (e as Error).message);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(file, undefined, 'a JSON object');
  return raw as Record<string, unknown>;
}

function pickVocab(src: string, config: Record<string, unknown>, rows: number): ConvertSummary['vocab'] {
  const own = path.join(src, 'vocab.txt');
  if (existsSync(own)) return { from: own, bundled: false };
  const base = [config._name_or_path, config.bert_model].some((n) => typeof n === 'string' && UNCASED_BASE.test(n));
  return base && rows === UNCASED_ROWS ? { from: resolveVocab('bert-base-uncased'), bundled: true } : null;
}
