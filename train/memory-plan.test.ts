import { describe, expect, it } from 'vitest';
import type { ProbeResult } from './memory-probe.js';
import { choiceLine, describePlan, fitMemory, planFromProbes, predict, type PlanInput } from './memory-plan.js';
import { parseMemory } from './memory-size.js';

const MiB = 2 ** 20;

describe('fitMemory', () => {
  it('recovers fixed + per layer + per triple + per triple per layer exactly', () => {
    const truth = { fixed: 100, perLayer: 20, perTriple: 7, perTripleLayer: 3 };
    const points = [1, 2, 3].flatMap((layers) => [1, 2, 4].map((batch) => ({ layers, batch, y: predict(truth, layers, batch) })));
    const f = fitMemory(points);
    for (const k of Object.keys(truth) as (keyof typeof truth)[]) expect(f[k]).toBeCloseTo(truth[k], 9);
    expect(() => fitMemory(points.filter((p) => p.layers === 1))).toThrow(/two layer counts and two batch sizes/);
  });
});

describe('planFromProbes', () => {
  // Probes built from known terms (MiB): weights 10 + 5 per layer, Adam twice that, the end regime (gradients)
  // 30 + 10 per layer + 0.5 per triple, activations 4 + 2 per layer + (1 + 3 per layer) per triple.
  const probe = (layers: number, batch: number): ProbeResult => ({
    layers, batch, backend: 'cpu', measure: 'cpu-arrays',
    weights: (10 + 5 * layers) * MiB,
    adam: 2 * (10 + 5 * layers) * MiB,
    endPeak: (30 + 10 * layers + 0.5 * batch) * MiB,
    activationPeak: (4 + 2 * layers + (1 + 3 * layers) * batch) * MiB,
    saved: 0, gradientsPeak: 0, adamPeak: 0, engine: 0, seconds: 0, cpuSeconds: 0,
  });
  const probes = [1, 2].flatMap((l) => [2, 4].map((b) => probe(l, b)));
  const input = (memory?: number): PlanInput => ({
    model: { vocab_size: 100, max_position_embeddings: 64, dim: 32, n_layers: 6, n_heads: 4, hidden_dim: 64 },
    batchSize: 12, queryLength: 8, passageLength: 16, recompute: 'none', backend: 'cpu', ...(memory ? { memory } : {}),
  });

  it('splits the step at the config size and predicts each accumulation that divides the batch', () => {
    const plan = planFromProbes(input(), probes);
    const s = plan.split;
    expect(s.weights / MiB).toBeCloseTo(40, 9);
    expect(s.adam / MiB).toBeCloseTo(80, 9);
    expect(s.gradientsFixed / MiB).toBeCloseTo(90, 9);
    expect(s.gradientsPerTriple / MiB).toBeCloseTo(0.5, 9);
    expect(s.activationsFixed / MiB).toBeCloseTo(16, 9);
    expect(s.activationsPerTriple / MiB).toBeCloseTo(19, 9);
    expect(s.accumulated).toBe(s.weights);
    expect(plan.options.map((o) => [o.accumulation, o.microBatch])).toEqual([[1, 12], [2, 6], [3, 4], [4, 3], [6, 2], [12, 1]]);
    // k = 1: 40 + 80 + max(90 + 6, 16 + 19·12 = 244); k = 2: 40 + 80 + 40 + max(93, 16 + 114 = 130);
    // k = 4: 160 + max(91.5, 73); k = 12: 160 + max(90.5, 35)
    const peaks = [364, 290, 252, 251.5, 251, 250.5];
    plan.options.forEach((o, i) => expect(o.peak / MiB).toBeCloseTo(peaks[i], 9));
    expect(plan.choice).toBeNull();
    expect(plan.memory).toBeNull();
  });

  it('chooses the smallest accumulation that fits, and says why in one line', () => {
    const plan = planFromProbes(input(300 * MiB), probes);
    expect(plan.choice?.accumulation).toBe(2);
    expect(choiceLine(plan)).toMatch(/^accumulation_steps 2 \(micro-batches of 6\): predicted peak 290 MiB <= 300 MiB \(weights 40 MiB \+ Adam 80 MiB \+ accumulated gradients 40 MiB \+ max\(gradients 93 MiB, activations 130 MiB\)\); 1 would need 364 MiB \[cpu, cpu-arrays\]$/);
    expect(describePlan(plan).join('\n')).toMatch(/^ +2 +6 +93 MiB +130 MiB +290 MiB +<- fits$/m);
  });

  it('names the lowest peak when nothing fits', () => {
    const plan = planFromProbes(input(200 * MiB), probes);
    expect(plan.choice).toBeNull();
    expect(choiceLine(plan)).toMatch(/does not fit 200 MiB at any accumulation_steps dividing the batch of 12: the lowest predicted peak is 250.5 MiB at 12 \(micro-batches of 1;/);
  });
});

describe('parseMemory', () => {
  it('reads binary and decimal units, case-insensitively; anything else is null', () => {
    expect(parseMemory('11GiB')).toBe(11 * 2 ** 30);
    expect(parseMemory('11GB')).toBe(11e9);
    expect(parseMemory('11000MiB')).toBe(11000 * MiB);
    expect(parseMemory('1.5 gib')).toBe(1.5 * 2 ** 30);
    expect(parseMemory(4096)).toBe(4096);
    for (const bad of ['eleven', '11XB', '11g', '0', '-3GiB', '']) expect(parseMemory(bad)).toBeNull();
  });
});
