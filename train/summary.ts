import type { LoopState } from './state.js';

/** What `runLoop` returns and a finished run writes as summary.json. */
export interface TrainSummary {
  /** 'interrupted': stopped through LoopOptions.stop; no summary.json is written, so the run is not done. */
  status: 'finished' | 'interrupted';
  reason: string;
  steps: number;
  triples: number;
  skipped: number;
  best: { step: number; measure: string; value: number } | null;
  last_loss: number | null;
  /** Throughput of this process (a resumed run counts from its resume). */
  elapsed_s: number;
  steps_per_s: number;
  triples_per_s: number;
  curves: string | null;
}

/** The summary of a loop that ended in `state`, having started this process at `start`. Pure. */
export function summarize(
  state: LoopState,
  run: { measure: string; start: { step: number; triples: number }; elapsedS: number; lastLoss: number | null; curves: string | null },
): TrainSummary {
  const secs = Math.max(run.elapsedS, 1e-9);
  return {
    status: state.finished === null ? 'interrupted' : 'finished',
    reason: state.finished ?? 'interrupted',
    steps: state.step,
    triples: state.triples,
    skipped: state.skipped,
    best: state.best && { step: state.best.step, measure: run.measure, value: state.best.value },
    last_loss: run.lastLoss,
    elapsed_s: run.elapsedS,
    steps_per_s: (state.step - run.start.step) / secs,
    triples_per_s: (state.triples - run.start.triples) / secs,
    curves: run.curves,
  };
}
