import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { InputError } from '../common/errors.js';
import { parseTermKey, weightedLoss, type LossTerm } from '../train/loss-terms.js';
import { LOSSES } from '../train/losses.js';
import { compare, readReference, type Quantity } from './reference.js';

/**
 * The losses' parity check (`margin-mse train losses --check FILE.json`): every loss a golden file names is
 * evaluated on the file's S, T and M, with its gradient with respect to S (or M for in-batch losses), and
 * compared with the file's values. The format is that of ../shared/goldens/losses/golden.json: `S [B, 1+K]`,
 * `T` (same shape, for teacher losses), `M [B, B(1+K)]` (for in-batch losses) and one `{value, grad}` per
 * loss key (`margin_mse`, `kl_tau2`, `in_batch_scale20`, ...: see parseTermKey in train/loss-terms.ts).
 *
 * Tolerances, relative as in parity/reference.ts (max |ours - ref| / max |ref|): values 1e-5, gradients 1e-4.
 * The floor keeps an exactly-zero reference (a loss at its minimum) from demanding exact zeros.
 */
export const TOL_VALUE = 1e-5;
export const TOL_GRAD = 1e-4;
const FLOOR = 1e-6;

const Matrix = z.array(z.array(z.number()));
const Entry = z.strictObject({ value: z.number(), grad: Matrix });
const RESERVED = ['about', 'B', 'K', 'S', 'T', 'M'] as const;
const Golden = z
  .object({
    about: z.string().optional(),
    B: z.number().int().positive().optional(),
    K: z.number().int().positive().optional(),
    S: Matrix,
    T: Matrix.optional(),
    M: Matrix.optional(),
  })
  .catchall(Entry);

export interface LossGoldenEntry {
  key: string;
  term: LossTerm;
  value: number;
  grad: number[][];
}

export interface LossGolden {
  S: number[][];
  T?: number[][];
  M?: number[][];
  entries: LossGoldenEntry[];
}

/** Reads and checks a loss golden: schema, shapes (S [B, 1+K], T like S, M [B, B(1+K)], each grad like its input) and keys. */
export async function readLossGolden(file: string): Promise<LossGolden> {
  const raw = await readReference(file, Golden, 'a loss golden ({S, T, M, <loss key>: {value, grad}})');
  const bad = (key: string, expected: string, got?: string) => new InputError(file, undefined, `${key}: ${expected}`, got);
  const shape = (m: number[][]) => `[${m.length}, ${m[0]?.length ?? 0}]`;
  const rect = (m: number[][], rows: number, cols: number) => m.length === rows && m.every((r) => r.length === cols);

  const b = raw.S.length;
  const g = raw.S[0]?.length ?? 0;
  if (b === 0 || g < 2 || !rect(raw.S, b, g)) throw bad('S', 'a [B, 1+K] matrix with B >= 1 and K >= 1', shape(raw.S));
  if (raw.B !== undefined && raw.B !== b) throw bad('B', `the number of rows of S (${b})`, String(raw.B));
  if (raw.K !== undefined && raw.K !== g - 1) throw bad('K', `the number of columns of S minus 1 (${g - 1})`, String(raw.K));
  if (raw.T && !rect(raw.T, b, g)) throw bad('T', `the shape of S [${b}, ${g}]`, shape(raw.T));
  if (raw.M && !rect(raw.M, b, b * g)) throw bad('M', `[B, B(1+K)] = [${b}, ${b * g}]`, shape(raw.M));

  const entries: LossGoldenEntry[] = [];
  for (const [key, v] of Object.entries(raw)) {
    if ((RESERVED as readonly string[]).includes(key)) continue;
    let term: LossTerm;
    try {
      term = parseTermKey(key);
    } catch (e) {
      throw new InputError(file, undefined, (e as Error).message);
    }
    const spec = LOSSES[term.name];
    if (spec.needsTeacher && !raw.T) throw bad(key, 'teacher scores "T" [B, 1+K] in the file, which this loss reads');
    if (spec.needsInBatch && !raw.M) throw bad(key, 'the in-batch matrix "M" [B, B(1+K)] in the file, which this loss reads');
    const entry = v as z.output<typeof Entry>;
    const [rows, cols] = spec.needsInBatch ? [b, b * g] : [b, g];
    if (!rect(entry.grad, rows, cols)) throw bad(`${key}.grad`, `[${rows}, ${cols}] like ${spec.needsInBatch ? 'M' : 'S'}`, shape(entry.grad));
    entries.push({ key, term, value: entry.value, grad: entry.grad });
  }
  if (entries.length === 0) throw new InputError(file, undefined, 'at least one loss key beside S, T, M');
  return { S: raw.S, T: raw.T, M: raw.M, entries };
}

export interface LossCheck {
  backend: string;
  /** Our value and gradient per key of the golden, in its order. */
  results: Record<string, { value: number; grad: number[][] }>;
  /** `<key>.value` and `<key>.grad` against the golden. */
  quantities: Quantity[];
  ok: boolean;
}

/** One loss's value and gradient on the current backend: with respect to M for in-batch losses, else S. */
export async function evaluateTerm(term: LossTerm, golden: Pick<LossGolden, 'S' | 'T' | 'M'>): Promise<{ value: number; grad: number[][] }> {
  const wrt = LOSSES[term.name].needsInBatch ? 'M' : 'S';
  const { value, grad } = tf.tidy(() => {
    const m = (x: number[][] | undefined) => (x ? tf.tensor2d(x) : undefined);
    const inputs = { S: tf.tensor2d(golden.S), T: m(golden.T), M: m(golden.M) };
    const f = (x: tf.Tensor) => weightedLoss([term], { ...inputs, [wrt]: x as tf.Tensor2D }).total;
    return tf.valueAndGrad(f)(inputs[wrt]!);
  });
  // Read asynchronously: webgpu cannot read synchronously in Node.
  const out = { value: (await value.data())[0], grad: (await grad.array()) as number[][] };
  tf.dispose([value, grad]);
  return out;
}

/** Evaluates every loss of `golden` and compares it with the golden's value and gradient. */
export async function checkLosses(golden: LossGolden): Promise<LossCheck> {
  const results: LossCheck['results'] = {};
  const quantities: Quantity[] = [];
  for (const e of golden.entries) {
    const ours = await evaluateTerm(e.term, golden);
    results[e.key] = ours;
    quantities.push(compare(`${e.key}.value`, [ours.value], [e.value], TOL_VALUE, FLOOR));
    quantities.push(compare(`${e.key}.grad`, ours.grad.flat(), e.grad.flat(), TOL_GRAD, FLOOR));
  }
  return { backend: tf.getBackend(), results, quantities, ok: quantities.every((q) => q.ok) };
}
