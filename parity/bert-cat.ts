import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { InputError } from '../common/errors.js';
import { loadBertCat, type BertCatForm } from '../models/bert-cat.js';
import { compare, readReference, type ParityReport, type Quantity } from './reference.js';

/**
 * Parity of the BERT_Cat teacher (models/bert-cat.ts) with a reference (PyTorch) computation: the [CLS]
 * vectors and scores of `[CLS] q [SEP] p [SEP]` rows, each to 1e-4 relative (see reference.ts `compare`).
 */
export interface BertCatParityReport extends ParityReport {
  form: BertCatForm;
}

/** A BERT_Cat reference (../shared/goldens/bert-cat-tiny/golden.json): inputs and what PyTorch computed. */
const Reference = z.object({
  input_ids: z.array(z.array(z.number().int())),
  token_type_ids: z.array(z.array(z.number().int())),
  attention_mask: z.array(z.array(z.number().int())),
  cls: z.array(z.array(z.number())).optional(),
  scores: z.array(z.number()).optional(),
});

const BERT_CAT_TOL = 1e-4;

/**
 * Recomputes a BERT_Cat reference on the current backend: the [CLS] vectors and the scores (those the
 * reference holds), for `margin-mse model parity` and the tests.
 */
export async function bertCatParity(modelDir: string, referenceFile: string, tol = BERT_CAT_TOL): Promise<BertCatParityReport> {
  const ref = await readReference(referenceFile, Reference, 'a BERT_Cat reference');
  const b = ref.input_ids.length;
  const L = ref.input_ids[0]?.length ?? 0;
  for (const key of ['input_ids', 'token_type_ids', 'attention_mask'] as const) {
    if (ref[key].length !== b || ref[key].some((row) => row.length !== L)) throw new InputError(referenceFile, undefined, `${key} of ${b} rows of ${L}`);
  }
  const model = await loadBertCat(modelDir);
  try {
    const { cls, scores } = tf.tidy(() => {
      const ids = tf.tensor2d(ref.input_ids, [b, L], 'int32');
      const types = tf.tensor2d(ref.token_type_ids, [b, L], 'int32');
      const mask = tf.tensor2d(ref.attention_mask, [b, L], 'int32');
      return model.forward(ids, types, mask);
    });
    const quantities: Quantity[] = [];
    // Asynchronous reads: webgpu cannot read synchronously in Node.
    if (ref.cls) quantities.push(compare('cls', await cls.data(), ref.cls.flat(), tol));
    if (ref.scores) quantities.push(compare('scores', await scores.data(), ref.scores, tol));
    tf.dispose([cls, scores]);
    return { backend: tf.getBackend(), form: model.form, quantities, ok: quantities.every((q) => q.ok) };
  } finally {
    model.dispose();
  }
}
