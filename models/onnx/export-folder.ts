import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../common/atomic.js';
import { InputError } from '../../common/errors.js';
import { loadBertCat } from '../bert-cat.js';
import { loadDistilBert } from '../weights/hf.js';
import { bertCatOnnx, bertDotOnnx, hostWeights } from './export.js';
import type { OnnxKind } from './kinds.js';

/**
 * `model export-onnx`: a model folder (as the project reads it: models/weights/hf.ts for the student,
 * models/bert-cat.ts for the teacher, so every check and format those loaders know applies) → one .onnx
 * file, written atomically. The loaders put the weights on the active tfjs backend; they are read back
 * (hostWeights) and the model is disposed before the graph is serialized.
 */
export { ONNX_KINDS, type OnnxKind } from './kinds.js';

/** The kind config.json names: model_type distilbert → bert-dot, bert (HF) or BERT_Cat (matchmaker) → bert-cat. */
export async function kindOfFolder(dir: string): Promise<OnnxKind> {
  const file = path.join(dir, 'config.json');
  let raw: { model_type?: unknown };
  try {
    raw = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, undefined, 'a readable JSON config (or pass --kind)', (e as Error).message.split('\n')[0]);
  }
  if (raw.model_type === 'distilbert') return 'bert-dot';
  if (raw.model_type === 'bert' || raw.model_type === 'BERT_Cat') return 'bert-cat';
  throw new InputError(file, undefined, 'model_type "distilbert" (bert-dot), "bert" or "BERT_Cat" (bert-cat); pass --kind for other folders', JSON.stringify(raw.model_type ?? null));
}

export interface ExportedOnnx {
  kind: OnnxKind;
  out: string;
  bytes: number;
  /** e.g. "DistilBERT, 2 layers, dim 32" */
  summary: string;
}

/** Builds the ONNX graph of the model in `dir` and writes it to `out` atomically. */
export async function exportOnnxFile(dir: string, out: string, kind?: OnnxKind): Promise<ExportedOnnx> {
  const k = kind ?? (await kindOfFolder(dir));
  let bytes: Uint8Array;
  let summary: string;
  if (k === 'bert-dot') {
    const model = await loadDistilBert(dir);
    try {
      bytes = bertDotOnnx(model.config, await hostWeights(model.weights));
    } finally {
      model.dispose();
    }
    summary = `BERT_Dot (DistilBERT), ${model.config.n_layers} layers, dim ${model.config.dim}`;
  } else {
    const model = await loadBertCat(dir);
    try {
      bytes = bertCatOnnx(model.config, model.form, await hostWeights(model.weights), { encoder: model.encoder });
    } finally {
      model.dispose();
    }
    summary = `BERT_Cat (${model.form} form, ${model.encoder} encoder), ${model.config.num_hidden_layers} layers, hidden ${model.config.hidden_size}`;
  }
  await writeFileAtomic(out, bytes);
  return { kind: k, out, bytes: bytes.length, summary };
}
