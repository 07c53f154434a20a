import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';

/**
 * Distillation losses over groups of scored passages. A batch holds B queries, each with its positive and K
 * negatives (a group of G = 1 + K passages). Every loss is a pure function of
 *   S [B, G]      student scores, column 0 the positive, columns 1..K the negatives;
 *   T [B, G]      teacher scores, same layout (teacher losses only);
 *   M [B, B * G]  every query of the batch against every passage of the batch, group-major columns, so query
 *                 b's own positive is column b * G (in-batch losses only);
 * and returns a scalar. The conventions (which means, temperature scaling, column order) are those of
 * ../shared/goldens/losses/golden.json; K = 1 gives the pairwise losses of the paper (a triple is a group of 2).
 * Call inside tf.tidy or a gradient function.
 */
export interface ScoreInputs {
  S: tf.Tensor2D;
  T?: tf.Tensor2D;
  M?: tf.Tensor2D;
}

/** Positive column [B, 1] and negative columns [B, K] of a [B, 1 + K] score matrix. */
function split(x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  const [b, g] = x.shape;
  if (g < 2) throw new Error(`group losses: expected scores [B, 1 + K] with K >= 1, got [${b}, ${g}]`);
  return [tf.slice(x, [0, 0], [b, 1]), tf.slice(x, [0, 1], [b, g - 1])];
}

/**
 * Margin-MSE: mean over b, k of ((S[b,0] - S[b,k]) - (T[b,0] - T[b,k]))².
 * Hofstätter et al. 2020, "Improving Efficient Neural Ranking Models with Cross-Architecture Knowledge
 * Distillation", arXiv 2010.02666, Eq. 1 (K = 1), here over every positive-negative pair of the group: the
 * student matches the teacher's margins, not its raw scores.
 */
export function marginMse(S: tf.Tensor2D, T: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [sPos, sNeg] = split(S);
    const [tPos, tNeg] = split(T);
    return tf.mean(tf.square(tf.sub(tf.sub(sPos, sNeg), tf.sub(tPos, tNeg)))) as tf.Scalar; // [B, K] → []
  });
}

/**
 * Pointwise MSE to the teacher scores: mean over all b, j of (S[b,j] - T[b,j])². The paper's ablation of
 * Margin-MSE (Hofstätter et al. 2020, Table 2).
 */
export function mse(S: tf.Tensor2D, T: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(S, T))) as tf.Scalar);
}

/**
 * RankNet (pairwise, no teacher): mean over b, k of log(1 + exp(-(S[b,0] - S[b,k]))) = softplus(S[b,k] - S[b,0]).
 * Burges et al. 2005, "Learning to Rank using Gradient Descent" (ICML); the teacher-free baseline of the paper.
 */
export function ranknet(S: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [sPos, sNeg] = split(S);
    return tf.mean(tf.softplus(tf.sub(sNeg, sPos))) as tf.Scalar; // [B, K] → []
  });
}

/**
 * Listwise KL distillation with temperature tau: tau² · mean over b of Σ_j p_t log(p_t / p_s), with
 * p_t = softmax(T[b] / tau), p_s = softmax(S[b] / tau). The tau² keeps the gradient's size independent of
 * tau (Hinton et al. 2015, "Distilling the Knowledge in a Neural Network"); over a teacher's ranked list as in
 * RocketQAv2 (Ren et al. 2021) and Tevatron's distillation trainer. Log-probabilities come from logSoftmax,
 * so a teacher probability that underflows to 0 contributes 0, never 0 · -inf.
 */
export function kl(S: tf.Tensor2D, T: tf.Tensor2D, tau: number): tf.Scalar {
  return tf.tidy(() => {
    const logPt = tf.logSoftmax(tf.div(T, tau)); // [B, G]
    const logPs = tf.logSoftmax(tf.div(S, tau)); // [B, G]
    const perQuery = tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), 1); // [B]
    return tf.mul(tf.mean(perQuery), tau * tau) as tf.Scalar;
  });
}

/**
 * In-batch negatives: mean over b of the cross-entropy of softmax(scale · M[b]) at column b · G, b's own
 * positive; every other passage of the batch (other queries' positives and negatives too) is a negative.
 * DPR (Karpukhin et al. 2020, "Dense Passage Retrieval for Open-Domain Question Answering"); TAS-B
 * (Hofstätter et al. 2021) adds it to Margin-MSE. `scale` multiplies the scores (1 for raw dot products,
 * e.g. 20 = 1 / 0.05 temperature for cosine scores).
 */
export function inBatch(M: tf.Tensor2D, scale: number): tf.Scalar {
  const [b, n] = M.shape;
  if (b === 0 || n % b !== 0) throw new Error(`in-batch loss: expected M [B, B * G], got [${b}, ${n}]`);
  const g = n / b;
  // One-hot targets built on the host: a constant, so its gradient path is a plain multiply on every backend.
  const target = new Float32Array(b * n); // [B, B * G]
  for (let i = 0; i < b; i++) target[i * n + i * g] = 1;
  return tf.tidy(() => {
    const logP = tf.logSoftmax(tf.mul(M, scale)); // [B, B * G]
    return tf.neg(tf.div(tf.sum(tf.mul(logP, tf.tensor2d(target, [b, n]))), b)) as tf.Scalar;
  });
}

/** What the table knows of a loss: its function, what it reads, and its options (validated by zod). */
export interface LossSpec<O extends z.ZodObject = z.ZodObject> {
  fn: (x: ScoreInputs, options: z.output<O>) => tf.Scalar;
  /** Reads teacher scores T (plain text triples can only train teacher-free losses). */
  needsTeacher: boolean;
  /** Reads the in-batch matrix M (under accumulation this needs GradCache, train/grad-cache.ts). */
  needsInBatch: boolean;
  /** Options of a term beside `name` and `weight` in `train.loss: [{name, weight, ...options}]`. */
  options: O;
}

const spec = <O extends z.ZodObject>(s: LossSpec<O>): LossSpec<O> => s;

function need(t: tf.Tensor2D | undefined, what: string): tf.Tensor2D {
  if (!t) throw new Error(`group losses: this loss reads ${what}, which the caller did not compute`);
  return t;
}
const teacher = (x: ScoreInputs) => need(x.T, 'teacher scores T');

/** The losses by config name (`train.loss`): the config's names, term options and the losses check all derive from this. */
export const LOSSES = {
  'margin-mse': spec({ fn: (x) => marginMse(x.S, teacher(x)), needsTeacher: true, needsInBatch: false, options: z.strictObject({}) }),
  mse: spec({ fn: (x) => mse(x.S, teacher(x)), needsTeacher: true, needsInBatch: false, options: z.strictObject({}) }),
  ranknet: spec({ fn: (x) => ranknet(x.S), needsTeacher: false, needsInBatch: false, options: z.strictObject({}) }),
  kl: spec({
    fn: (x, o) => kl(x.S, teacher(x), o.tau),
    needsTeacher: true,
    needsInBatch: false,
    options: z.strictObject({ tau: z.number().positive().default(1) }),
  }),
  'in-batch': spec({
    fn: (x, o) => inBatch(need(x.M, 'the in-batch matrix M'), o.scale),
    needsTeacher: false,
    needsInBatch: true,
    options: z.strictObject({ scale: z.number().positive().default(1) }),
  }),
} as const;

export type LossName = keyof typeof LOSSES;
export const LOSS_NAMES = Object.keys(LOSSES) as [LossName, ...LossName[]];
