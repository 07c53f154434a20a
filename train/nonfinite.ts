import type { TrainConfig } from './config.js';
import type { LoopState } from './state.js';
import { UserError } from '../common/errors.js';

/** A run stopped on purpose for NaN/Inf: one clear line for the user, not a bug's stack. */
export class NonFiniteError extends UserError {
  override name = 'NonFiniteError';
}

/** What the loop does with a batch whose loss or gradient norm is not finite. */
export interface NonFiniteOutcome {
  /** The loop state after the batch (under `skip`: one more skipped batch, its triples consumed). */
  state: LoopState;
  /** A line to log (the skipped batch). */
  log?: string;
  /** Set when training must stop: the NonFiniteError's message. */
  stop?: string;
}

/**
 * The `train.on_nonfinite` policy for the step after `state.step`: null when the loss and the global gradient
 * norm are finite (take the step), else skip the batch (counted; at most `max_nonfinite`) or stop.
 * `lastCheckpoint` is named in the stop message, since that is what a user resumes from. Pure.
 */
export function checkFinite(
  state: LoopState,
  got: { loss: number; gradNorm: number; triples: number },
  cfg: Pick<TrainConfig, 'on_nonfinite' | 'max_nonfinite'>,
  lastCheckpoint: string | null,
): NonFiniteOutcome | null {
  if (Number.isFinite(got.loss) && Number.isFinite(got.gradNorm)) return null;
  const what = `step ${state.step + 1}: non-finite ${Number.isFinite(got.loss) ? `gradient (global norm ${got.gradNorm})` : `loss (${got.loss})`}`;
  const last = `Last good checkpoint: ${lastCheckpoint ?? 'none yet'}`;
  if (cfg.on_nonfinite === 'stop') {
    return {
      state,
      stop: `${what}; training stopped (train.on_nonfinite=stop). ${last}. ` +
        'Lower train.lr, set train.max_grad_norm, or set train.on_nonfinite=skip to skip such batches.',
    };
  }
  const next = { ...state, skipped: state.skipped + 1, triples: state.triples + got.triples };
  return {
    state: next,
    log: `${what}; batch skipped (${next.skipped} so far)`,
    stop: next.skipped > cfg.max_nonfinite
      ? `${next.skipped} batches skipped for non-finite values (train.max_nonfinite=${cfg.max_nonfinite}); training stopped. ${last}`
      : undefined,
  };
}
