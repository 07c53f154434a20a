/** The loop's own state, saved with each checkpoint so a resumed run continues exactly. */
export interface LoopState {
  step: number;
  /** Triples consumed by optimizer steps and skipped batches. */
  triples: number;
  /** Batches skipped for a non-finite loss or gradient (on_nonfinite: skip). */
  skipped: number;
  /** Multiplier on the scheduled lr (reduced on validation plateaus). */
  lrScale: number;
  best: { step: number; value: number } | null;
  /** Validations since the last improvement (early stopping) and since the last lr reduction (plateau). */
  badValidations: number;
  plateauBad: number;
  /** Why the run ended, once it has: 'max_steps' | 'end_of_data' | 'early_stopping'. */
  finished: string | null;
}

export const freshState = (): LoopState => ({
  step: 0, triples: 0, skipped: 0, lrScale: 1, best: null, badValidations: 0, plateauBad: 0, finished: null,
});
