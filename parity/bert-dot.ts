import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { InputError } from '../common/errors.js';
import type { GroupBatch } from '../data/batch.js';
import { collateGroups } from '../data/collate.js';
import { Adam } from '../train/adam.js';
import { marginMse } from '../train/losses.js';
import { dotScores, encodeGroups } from '../models/bert-dot.js';
import type { DistilBert } from '../models/distilbert.js';
import { loadDistilBert } from '../models/weights/hf.js';
import { compare, compareWithin, readReference, type ParityReport, type Quantity } from './reference.js';
import { adamStepSlack, gradFloor, TOL_GRAD, TOL_OUTPUT } from './tolerance.js';

/**
 * Parity of the BERT_Dot student with a reference (PyTorch) computation, in the format of
 * ../shared/goldens/distilbert-tiny/golden.json (documented in docs/models.md). Every quantity the reference
 * holds is recomputed here and compared; absent ones are skipped, so a reference may hold only CLS vectors.
 *
 * Differences are as in parity/reference.ts (`compare`), within the tolerances of parity/tolerance.ts.
 */

const Ids = z.object({ input_ids: z.array(z.array(z.number().int())), attention_mask: z.array(z.array(z.number().int())) });
const Vec = z.array(z.number());
const Mat = z.array(z.array(z.number()));
const Reference = z.object({
  query: Ids,
  pos: Ids,
  neg: Ids,
  teacher_pos: Vec.optional(),
  teacher_neg: Vec.optional(),
  query_cls: Mat.optional(),
  pos_cls: Mat.optional(),
  neg_cls: Mat.optional(),
  score_pos: Vec.optional(),
  score_neg: Vec.optional(),
  loss: z.number().optional(),
  grad_global_norm: z.number().optional(),
  grad_norms: z.record(z.string(), z.number()).optional(),
  grad_samples: z.record(z.string(), Vec).optional(),
  adam: z.object({ lr: z.number(), beta1: z.number(), beta2: z.number(), eps: z.number() }).optional(),
  after_adam_step: z
    .object({ loss: z.number().optional(), score_pos: Vec.optional(), score_neg: Vec.optional(), param_samples: z.record(z.string(), Vec).optional() })
    .optional(),
});
export type BertDotReference = z.output<typeof Reference>;

export async function readBertDotReference(file: string): Promise<BertDotReference> {
  const ref = await readReference(file, Reference, 'a BERT_Dot reference');
  for (const part of ['query', 'pos', 'neg'] as const) {
    const { input_ids: ids, attention_mask: mask } = ref[part];
    const L = ids[0]?.length ?? 0;
    if (ids.length !== ref.query.input_ids.length || ids.some((row, i) => row.length !== L || mask[i]?.length !== L) || mask.length !== ids.length) {
      throw new InputError(file, undefined, `${part}.input_ids and ${part}.attention_mask as equal [batch, length] matrices, batch as in query`);
    }
  }
  return ref;
}

/** Packs the reference inputs as the batcher would: groups of 2 (positive, negative), K = 1. */
export function referenceBatch(ref: BertDotReference): GroupBatch {
  const part = (p: { input_ids: number[][]; attention_mask: number[][] }) => ({
    rows: p.input_ids.length,
    len: p.input_ids[0].length,
    ids: Int32Array.from(p.input_ids.flat()),
    mask: Int32Array.from(p.attention_mask.flat()),
  });
  const teacher = ref.teacher_pos !== undefined && ref.teacher_neg !== undefined ? [ref.teacher_pos, ref.teacher_neg] : null;
  return collateGroups(part(ref.query), [part(ref.pos), part(ref.neg)], teacher);
}

/** Loads the model folder and runs every comparison the reference allows. */
export async function bertDotParity(modelDir: string, referenceFile: string): Promise<ParityReport> {
  const ref = await readBertDotReference(referenceFile);
  const model = await loadDistilBert(modelDir);
  try {
    return await runBertDotParity(model, ref);
  } finally {
    model.dispose();
  }
}

/**
 * The comparisons on a loaded model. Takes one Adam step on it when the reference has one. Reads are
 * asynchronous (`await t.data()`) because webgpu cannot read synchronously in Node: this is how a user
 * checks a GPU backend against PyTorch.
 */
export async function runBertDotParity(model: DistilBert, ref: BertDotReference): Promise<ParityReport> {
  const q: Quantity[] = [];
  const batch = referenceBatch(ref);
  const b = batch.size;

  // CLS vectors per part, each encoded on its own as the reference does.
  for (const [part, key] of [['query', 'query_cls'], ['pos', 'pos_cls'], ['neg', 'neg_cls']] as const) {
    const want = ref[key];
    if (!want) continue;
    const ids = ref[part].input_ids;
    const cls = tf.tidy(() => model.encode(tf.tensor2d(ids, [b, ids[0].length], 'int32'), tf.tensor2d(ref[part].attention_mask, [b, ids[0].length], 'int32')));
    q.push(compare(key, await read(cls), want.flat(), TOL_OUTPUT));
  }

  // The trainer's scoring and Margin-MSE over S, T [B, 2] (column 0 the positive, 1 the negative).
  const lossOf = () => {
    const { q, p } = encodeGroups(model, batch);
    const { S } = dotScores(q, p, 2, false); // [B, 2]
    const [sPos, sNeg] = tf.unstack(S, 1) as [tf.Tensor1D, tf.Tensor1D];
    return { sPos, sNeg, loss: marginMse(S, tf.tensor2d(batch.teacher, [b, 2])) };
  };
  const outputs = (prefix: string, want: { score_pos?: number[]; score_neg?: number[]; loss?: number }, got: { sPos: ArrayLike<number>; sNeg: ArrayLike<number>; loss: number }) => {
    if (want.score_pos) q.push(compare(`${prefix}score_pos`, got.sPos, want.score_pos, TOL_OUTPUT));
    if (want.score_neg) q.push(compare(`${prefix}score_neg`, got.sNeg, want.score_neg, TOL_OUTPUT));
    if (want.loss !== undefined && batch.hasTeacher) q.push(compare(`${prefix}loss`, [got.loss], [want.loss], TOL_OUTPUT));
  };
  const forward = async () => {
    const [sPos, sNeg, loss] = tf.tidy(() => {
      const r = lossOf();
      return [r.sPos, r.sNeg, r.loss];
    });
    return { sPos: await read(sPos), sNeg: await read(sNeg), loss: (await read(loss))[0] };
  };

  const needGrads = ref.grad_global_norm !== undefined || ref.grad_norms || ref.grad_samples || ref.after_adam_step;
  if (!needGrads || !batch.hasTeacher) {
    outputs('', ref, await forward());
    return { backend: tf.getBackend(), quantities: q, ok: q.every((x) => x.ok) };
  }

  // Scores and loss come from the gradient pass itself (kept out of its tidy scope), saving a forward pass.
  const nameOf = new Map([...model.weights].map(([hf, v]) => [v.name, hf]));
  let kept: tf.Tensor[] = [];
  const { value, grads: byVar } = tf.variableGrads(() => {
    const r = lossOf();
    kept = [tf.keep(r.sPos), tf.keep(r.sNeg)];
    return r.loss;
  }, model.trainableVariables());
  outputs('', ref, { sPos: await read(kept[0]), sNeg: await read(kept[1]), loss: (await read(value))[0] });
  const grads = new Map(Object.entries(byVar).map(([v, g]) => [nameOf.get(v)!, g]));
  let adam: Adam | undefined;
  try {
    const norms = new Map<string, number>();
    const maxAbs = new Map<string, number>();
    for (const [n, g] of grads) {
      const [sq, mx] = await Promise.all(tf.tidy(() => [tf.sum(tf.square(g)), tf.max(tf.abs(g))]).map(read));
      norms.set(n, Math.sqrt(sq[0]));
      maxAbs.set(n, mx[0]);
    }
    const global = Math.sqrt([...norms.values()].reduce((s, x) => s + x * x, 0));
    const floor = gradFloor(ref.grad_global_norm ?? global);
    if (ref.grad_global_norm !== undefined) q.push(compare('grad_global_norm', [global], [ref.grad_global_norm], TOL_GRAD));
    for (const [n, want] of Object.entries(ref.grad_norms ?? {})) q.push(compare(`grad_norm ${n}`, [norms.get(n) ?? NaN], [want], TOL_GRAD, floor));
    for (const [n, want] of Object.entries(ref.grad_samples ?? {})) q.push(compare(`grad_sample ${n}`, await firstValues(grads.get(n), want.length), want, TOL_GRAD, floor));

    if (ref.after_adam_step) {
      const opts = ref.adam ?? { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
      const samples = Object.entries(ref.after_adam_step.param_samples ?? {});
      // Our gradient at each sampled value, read before the step: how far the step may honestly differ.
      const gradAt = new Map<string, Float32Array>();
      for (const [n, want] of samples) gradAt.set(n, await firstValues(grads.get(n), want.length));
      adam = new Adam(model.weights, { beta1: opts.beta1, beta2: opts.beta2, eps: opts.eps });
      adam.apply(grads, opts.lr);
      outputs('after_adam_step.', ref.after_adam_step, await forward());
      for (const [n, want] of samples) {
        const got = await firstValues(model.weights.get(n), want.length);
        const g = gradAt.get(n)!;
        const gradTol = TOL_GRAD * Math.max(maxAbs.get(n) ?? 0, floor);
        const slack = want.map((_, i) => (i < g.length ? adamStepSlack(g[i], gradTol, opts.eps) : 0));
        const base = TOL_OUTPUT * Math.max(...want.map(Math.abs));
        const most = Math.max(...slack);
        const note = opts.lr * most > base ? `per value: 1e-4 rel + lr × Adam's step change within the gradient tolerance, up to ${most.toFixed(2)} lr` : undefined;
        q.push(compareWithin(`after_adam_step.param ${n}`, got, want, slack.map((x) => base + opts.lr * x), note));
      }
    }
  } finally {
    tf.dispose([...grads.values()]);
    adam?.dispose();
  }
  return { backend: tf.getBackend(), quantities: q, ok: q.every((x) => x.ok) };
}

/** Reads a tensor's values and disposes it. */
async function read(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

async function firstValues(t: tf.Tensor | undefined, n: number): Promise<Float32Array> {
  if (!t) return new Float32Array(0);
  return ((await t.data()) as Float32Array).slice(0, n);
}
