import { describe, expect, it } from 'vitest';
import { TrainConfig } from './config.js';
import { checkFinite } from './nonfinite.js';
import { freshState } from './state.js';

const state = { ...freshState(), step: 7, triples: 28 };

describe('checkFinite (train.on_nonfinite)', () => {
  it('finite loss and gradient norm: take the step', () => {
    expect(checkFinite(state, { loss: 1.5, gradNorm: 3, triples: 4 }, TrainConfig.parse({}), null)).toBeNull();
  });

  it('stop: names the step, what was not finite and the last good checkpoint', () => {
    const cfg = TrainConfig.parse({ on_nonfinite: 'stop' });
    const loss = checkFinite(state, { loss: Infinity, gradNorm: NaN, triples: 4 }, cfg, '/run/step-00000005');
    expect(loss?.stop).toMatch(/^step 8: non-finite loss \(Infinity\); training stopped .*Last good checkpoint: \/run\/step-00000005\./);
    expect(loss?.state).toBe(state);
    const grad = checkFinite(state, { loss: 2, gradNorm: NaN, triples: 4 }, cfg, null);
    expect(grad?.stop).toMatch(/^step 8: non-finite gradient \(global norm NaN\);.*Last good checkpoint: none yet/);
  });

  it('skip: counts the batch and its triples, logs it, and stops past max_nonfinite', () => {
    const cfg = TrainConfig.parse({ on_nonfinite: 'skip', max_nonfinite: 2 });
    const first = checkFinite(state, { loss: NaN, gradNorm: NaN, triples: 4 }, cfg, null)!;
    expect(first.state).toMatchObject({ step: 7, skipped: 1, triples: 32 });
    expect(first.log).toBe('step 8: non-finite loss (NaN); batch skipped (1 so far)');
    expect(first.stop).toBeUndefined();
    const second = checkFinite(first.state, { loss: NaN, gradNorm: NaN, triples: 4 }, cfg, null)!;
    expect(second.stop).toBeUndefined();
    const third = checkFinite(second.state, { loss: NaN, gradNorm: NaN, triples: 4 }, cfg, null)!;
    expect(third.log).toMatch(/batch skipped \(3 so far\)/);
    expect(third.stop).toMatch(/^3 batches skipped for non-finite values \(train\.max_nonfinite=2\)/);
  });
});
