import { z } from 'zod';
import { RECOMPUTE_CHOICES } from '../models/transformer.js';
import { LossConfig } from './loss-terms.js';

/** Validation during training: re-rank a candidate run for held-out queries and compute one measure. */
export const ValidationConfig = z.strictObject({
  /** Validate every N optimizer steps; 0 turns validation (and early stopping, best/) off. */
  every: z.number().int().min(0).default(4000),
  measure: z.enum(['ndcg@10', 'mrr@10']).default('ndcg@10'),
  /** Queries (`qid<TAB>text`), qrels, candidate run (TREC or MS MARCO run) and collection (`pid<TAB>text`). */
  queries: z.string().optional(),
  qrels: z.string().optional(),
  candidates: z.string().optional(),
  collection: z.string().optional(),
  /** Re-rank the top K candidates of each query. */
  top_k: z.number().int().positive().default(100),
  /** Use at most this many queries (the first N of the candidate run, sorted by qid); null: all. */
  max_queries: z.number().int().positive().nullable().default(null),
  /** Grade from which a document counts as relevant for binary measures (MS MARCO 1, TREC DL 2). */
  min_rel: z.number().int().min(1).default(1),
  /** Passages encoded per forward pass during validation. */
  batch_size: z.number().int().positive().default(64),
  /** Early stopping: stop after this many validations without improvement ... */
  patience: z.number().int().positive().default(30),
  /** ... but never before this many optimizer steps. */
  min_steps: z.number().int().min(0).default(0),
});
export type ValidationConfig = z.output<typeof ValidationConfig>;

/** The `train` section of the config tree (see pipelines/config.ts). Every field has a default. */
export const TrainConfig = z.strictObject({
  /**
   * A loss name from train/losses.ts (margin-mse, mse, ranknet, kl, in-batch), or a weighted list of terms
   * `[{name, weight, ...options}]` summed as Σ weight · loss (train/loss-terms.ts).
   */
  loss: LossConfig.default('margin-mse'),
  /** Training examples (queries with their groups) per optimizer step. */
  batch_size: z.number().int().positive().default(32),
  /**
   * Split each batch into this many micro-batches whose gradients are summed (same update, less memory).
   * `auto`: the fewest that fit `run.device_memory`, from a measured memory plan (train/memory-plan.ts) made
   * before the first step; a step that does not fit even one triple at a time stops the run there.
   */
  accumulation_steps: z.union([z.number().int().positive(), z.literal('auto')]).default(1),
  /**
   * What each encoder block keeps for the backward pass (models/ops/encoder-layer.ts): `none` its activations,
   * `layers` only its input, recomputing the block in the backward (activation checkpointing: same loss and
   * gradients, a fraction of the activation memory, about one more forward pass per step).
   */
  recompute: z.enum(RECOMPUTE_CHOICES).default('none'),
  lr: z.number().positive().default(7e-6),
  adam: z
    .strictObject({
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      eps: z.number().positive().default(1e-8),
    })
    .default({ beta1: 0.9, beta2: 0.999, eps: 1e-8 }),
  schedule: z.enum(['constant', 'cosine']).default('constant'),
  warmup_steps: z.number().int().min(0).default(0),
  /** Cosine floor as a fraction of lr. */
  min_lr_ratio: z.number().min(0).max(1).default(0),
  /** On a plateau (this many validations without improvement), multiply lr by plateau_factor; 1 = off. */
  plateau_patience: z.number().int().positive().default(15),
  plateau_factor: z.number().positive().max(1).default(1),
  /** Clip gradients to this global L2 norm; null: no clipping. */
  max_grad_norm: z.number().positive().nullable().default(null),
  /** Stop after this many optimizer steps (null: at the end of max_epochs). */
  max_steps: z.number().int().positive().nullable().default(null),
  max_epochs: z.number().int().positive().default(1),
  /** Non-finite loss or gradient: stop (last good checkpoint stays) or skip the batch and count it. */
  on_nonfinite: z.enum(['stop', 'skip']).default('stop'),
  /** Under `skip`, stop anyway after this many skipped batches. */
  max_nonfinite: z.number().int().positive().default(100),
  /** Write a metrics row (and update the progress line) every N steps. */
  log_every: z.number().int().positive().default(50),
  /** Write a resumable checkpoint every N steps (and at the end); keep the newest `keep_checkpoints`. */
  checkpoint_every: z.number().int().positive().default(1000),
  keep_checkpoints: z.number().int().positive().default(2),
  validation: ValidationConfig.default(ValidationConfig.parse({})),
});
export type TrainConfig = z.output<typeof TrainConfig>;
