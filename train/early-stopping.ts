import type { TrainConfig } from './config.js';
import type { LoopState } from './state.js';

/** The settings afterValidation reads (a TrainConfig has them all). */
export type ValidationPolicy = Pick<TrainConfig, 'plateau_factor' | 'plateau_patience'> & {
  validation: Pick<TrainConfig['validation'], 'patience' | 'min_steps'>;
};

/** What one validation led to. */
export interface ValidationOutcome {
  /** Higher than every earlier value (or the first): the caller saves best/. */
  best: boolean;
  /** No improvement for `plateau_patience` validations: lr was multiplied by `plateau_factor`. */
  lrDecayed: boolean;
  /** No improvement for `validation.patience` validations, at or after `validation.min_steps`. */
  stop: boolean;
}

/**
 * Best checkpoint, lr plateau and early stopping after a validation at `state.step` (higher is better).
 * Pure: returns the new loop state and what happened; the loop does the I/O (best/, log lines).
 */
export function afterValidation(state: LoopState, value: number, cfg: ValidationPolicy): { state: LoopState; outcome: ValidationOutcome } {
  if (state.best === null || value > state.best.value) {
    return {
      state: { ...state, best: { step: state.step, value }, badValidations: 0, plateauBad: 0 },
      outcome: { best: true, lrDecayed: false, stop: false },
    };
  }
  const next = { ...state, badValidations: state.badValidations + 1, plateauBad: state.plateauBad + 1 };
  const lrDecayed = cfg.plateau_factor < 1 && next.plateauBad >= cfg.plateau_patience;
  if (lrDecayed) {
    next.lrScale *= cfg.plateau_factor;
    next.plateauBad = 0;
  }
  const stop = next.step >= cfg.validation.min_steps && next.badValidations >= cfg.validation.patience;
  if (stop) next.finished = 'early_stopping';
  return { state: next, outcome: { best: false, lrDecayed, stop } };
}
