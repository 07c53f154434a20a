import { describe, expect, it } from 'vitest';
import { TrainConfig } from './config.js';
import { afterValidation } from './early-stopping.js';
import { type LoopState, freshState } from './state.js';

const at = (step: number, s: Partial<LoopState> = {}): LoopState => ({ ...freshState(), step, ...s });

describe('afterValidation', () => {
  const cfg = TrainConfig.parse({ plateau_patience: 2, plateau_factor: 0.5, validation: { patience: 3, min_steps: 40 } });

  it('a first value and every higher one are best: kept with their step, both counters reset', () => {
    const first = afterValidation(at(10), 0.2, cfg);
    expect(first.outcome).toEqual({ best: true, lrDecayed: false, stop: false });
    expect(first.state.best).toEqual({ step: 10, value: 0.2 });
    const higher = afterValidation(at(20, { best: { step: 10, value: 0.2 }, badValidations: 2, plateauBad: 1 }), 0.3, cfg);
    expect(higher.state).toMatchObject({ best: { step: 20, value: 0.3 }, badValidations: 0, plateauBad: 0 });
  });

  it('an equal value is not an improvement', () => {
    const r = afterValidation(at(20, { best: { step: 10, value: 0.2 } }), 0.2, cfg);
    expect(r.outcome.best).toBe(false);
    expect(r.state).toMatchObject({ best: { step: 10, value: 0.2 }, badValidations: 1, plateauBad: 1 });
  });

  it('plateau: after plateau_patience bad validations lr × plateau_factor and the plateau count restarts', () => {
    let s = at(10, { best: { step: 10, value: 0.5 } });
    const decays: boolean[] = [];
    for (const step of [20, 30, 40, 50]) {
      const r = afterValidation({ ...s, step }, 0.1, cfg);
      decays.push(r.outcome.lrDecayed);
      s = r.state;
    }
    expect(decays).toEqual([false, true, false, true]);
    expect(s.lrScale).toBe(0.25);
    expect(s.plateauBad).toBe(0);
    // plateau_factor 1 (the default) never decays
    const off = TrainConfig.parse({ plateau_patience: 1 });
    expect(afterValidation(at(20, { best: { step: 10, value: 0.5 } }), 0.1, off).outcome.lrDecayed).toBe(false);
  });

  it('stops after `patience` bad validations, but not before min_steps', () => {
    const early = afterValidation(at(30, { best: { step: 0, value: 1 }, badValidations: 2 }), 0, cfg);
    expect(early.outcome.stop).toBe(false); // patience reached at step 30 < min_steps 40
    expect(early.state.finished).toBeNull();
    const late = afterValidation({ ...early.state, step: 40 }, 0, cfg);
    expect(late.outcome.stop).toBe(true);
    expect(late.state.finished).toBe('early_stopping');
  });

  it('does not modify the state it is given', () => {
    const s = at(20, { best: { step: 10, value: 0.5 } });
    const copy = structuredClone(s);
    afterValidation(s, 0.1, cfg);
    afterValidation(s, 0.9, cfg);
    expect(s).toEqual(copy);
  });
});
