import * as tf from '@tensorflow/tfjs-core';

/**
 * Training losses over a batch of (query, positive, negative) triples. Each is a pure function of the
 * student scores `sPos`, `sNeg` ([batch]) and, where it uses a teacher, the teacher scores `tPos`, `tNeg`
 * ([batch]); each returns a scalar. Chosen by name in the config (`train.loss`).
 */
export type LossFn = (sPos: tf.Tensor1D, sNeg: tf.Tensor1D, tPos: tf.Tensor1D, tNeg: tf.Tensor1D) => tf.Scalar;

/**
 * Margin-MSE: mean(((s_pos - s_neg) - (t_pos - t_neg))^2).
 * Hofstätter et al. 2020, "Improving Efficient Neural Ranking Models with Cross-Architecture Knowledge
 * Distillation", arXiv 2010.02666, Eq. 1: the student matches the teacher's margin, not its raw scores,
 * so students with other score ranges (dot products) can learn from a cross-encoder.
 */
export const marginMse: LossFn = (sPos, sNeg, tPos, tNeg) =>
  tf.tidy(() => tf.mean(tf.square(tf.sub(tf.sub(sPos, sNeg), tf.sub(tPos, tNeg)))) as tf.Scalar);

/**
 * RankNet (pairwise, no teacher): mean(log(1 + exp(-(s_pos - s_neg)))) = mean(softplus(s_neg - s_pos)).
 * Burges et al. 2005, "Learning to Rank using Gradient Descent"; the teacher-free baseline of the paper.
 */
export const ranknet: LossFn = (sPos, sNeg) => tf.tidy(() => tf.mean(tf.softplus(tf.sub(sNeg, sPos))) as tf.Scalar);

/**
 * Pointwise MSE to the teacher scores: mean over both halves of (s - t)^2, i.e.
 * (mean((s_pos - t_pos)^2) + mean((s_neg - t_neg)^2)) / 2. The paper's ablation of Margin-MSE (Table 2).
 */
export const pointwiseMse: LossFn = (sPos, sNeg, tPos, tNeg) =>
  tf.tidy(() => tf.mean(tf.concat([tf.square(tf.sub(sPos, tPos)), tf.square(tf.sub(sNeg, tNeg))])) as tf.Scalar);

/**
 * Every loss by its config name (`train.loss`, whose allowed values are these keys), and whether it reads
 * teacher scores (plain text triples can only train teacher-free losses).
 */
export const LOSSES = {
  'margin-mse': { fn: marginMse, needsTeacher: true },
  ranknet: { fn: ranknet, needsTeacher: false },
  mse: { fn: pointwiseMse, needsTeacher: true },
} as const satisfies Record<string, { fn: LossFn; needsTeacher: boolean }>;
export type LossName = keyof typeof LOSSES;
export const LOSS_NAMES = Object.keys(LOSSES) as [LossName, ...LossName[]];
