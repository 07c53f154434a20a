import type { BackendChoice } from '../models/engine/backend.js';
import { MEASURE_NOTES, type MemoryMeasure } from '../models/engine/memory-tracker.js';
import type { Recompute } from '../models/transformer.js';
import { probeInChild, type ModelSizes, type ProbeResult } from './memory-probe.js';
import { fmt } from './memory-size.js';

/** y ≈ fixed + perLayer N + perTriple B + perTripleLayer B N, in bytes, for N layers and B triples. */
export interface Fit {
  fixed: number;
  perLayer: number;
  perTriple: number;
  perTripleLayer: number;
}

/**
 * Least squares fit of y = c0 + c1 N + c2 B + c3 B N over the points (exact through four of them).
 * Hand-written: four unknowns, solved through the normal equations by Gaussian elimination; no dependency
 * needed for that.
 */
export function fitMemory(points: { layers: number; batch: number; y: number }[]): Fit {
  const rows = points.map((p) => [1, p.layers, p.batch, p.batch * p.layers]);
  const n = 4;
  const a = Array.from({ length: n }, (_, i) => Array.from({ length: n + 1 }, (_, j) => rows.reduce((s, r, k) => s + r[i] * (j < n ? r[j] : points[k].y), 0)));
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
    [a[c], a[pivot]] = [a[pivot], a[c]];
    if (Math.abs(a[c][c]) < 1e-9) throw new Error('memory fit: need at least two layer counts and two batch sizes');
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let j = c; j <= n; j++) a[r][j] -= f * a[c][j];
    }
  }
  const x = a.map((row, i) => row[n] / row[i]);
  return { fixed: x[0], perLayer: x[1], perTriple: x[2], perTripleLayer: x[3] };
}

export const predict = (f: Fit, layers: number, batch: number): number => f.fixed + f.perLayer * layers + f.perTriple * batch + f.perTripleLayer * batch * layers;

/** What the plan is for: the student's sizes, the batch, the sequence lengths, recompute and the backend. */
export interface PlanInput {
  model: ModelSizes;
  batchSize: number;
  queryLength: number;
  passageLength: number;
  recompute: Recompute;
  backend: BackendChoice;
  /** The device memory to fit, in bytes (none: the plan lists the peaks without choosing). */
  memory?: number;
}

/**
 * The probe grid: layer counts × batch sizes, at the input's width and lengths. Batches 2 and 4 rather than 1
 * and 2: at one triple the activation peak falls at another moment of the step, and the per-triple slope
 * between 1 and 2 comes out well below the slope from 2 on (docs/train.md).
 */
export const PROBE_LAYERS = [1, 2];
export const PROBE_BATCHES = [2, 4];

/** One accumulation_steps value: micro-batches of `microBatch` triples and the step's predicted peak. */
export interface PlanOption {
  accumulation: number;
  microBatch: number;
  /** The two regimes of one micro-batch (above weights, Adam and the accumulated gradients). */
  gradients: number;
  activations: number;
  peak: number;
}

export interface MemoryPlan {
  input: PlanInput;
  /** The backend the probes ran on and what their figures count (models/engine/memory-tracker.ts). */
  backend: string;
  measure: MemoryMeasure;
  probes: ProbeResult[];
  fits: { weights: Fit; adam: Fit; gradients: Fit; activations: Fit };
  /** At the input's layer count, bytes; the regimes as a fixed part and a part per triple of a micro-batch. */
  split: {
    weights: number;
    adam: number;
    /** Held across micro-batches when accumulation_steps > 1: one gradient per parameter. */
    accumulated: number;
    /** The end of the backward and Adam: every gradient, the lookups' dense table gradients, Adam's temporaries. */
    gradientsFixed: number;
    gradientsPerTriple: number;
    /** The forward and the blocks' backward: the activations kept for the backward and its temporaries. */
    activationsFixed: number;
    activationsPerTriple: number;
  };
  /** Every accumulation_steps that divides the batch, smallest first. */
  options: PlanOption[];
  memory: number | null;
  /** The smallest accumulation whose peak fits `memory`; null when none does or no memory was given. */
  choice: PlanOption | null;
}

/**
 * The predicted peak of a step split into micro-batches of m triples (accumulation k = batch / m):
 *   weights + Adam + (k > 1: accumulated gradients) + max(gradients(m), activations(m))
 * The two regimes of a step follow each other: the activations (forward, blocks' backward) peak before the
 * word embedding's dense gradient, the gradients (end of the backward, Adam) from it on; with accumulation,
 * the running sum of the earlier micro-batches' gradients is alive through both.
 */
export function optionFor(split: MemoryPlan['split'], batchSize: number, accumulation: number): PlanOption {
  const microBatch = batchSize / accumulation;
  const gradients = split.gradientsFixed + split.gradientsPerTriple * microBatch;
  const activations = split.activationsFixed + split.activationsPerTriple * microBatch;
  const peak = split.weights + split.adam + (accumulation > 1 ? split.accumulated : 0) + Math.max(gradients, activations);
  return { accumulation, microBatch, gradients, activations, peak };
}

const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

/** Fits the probes (2 layer counts × 2 batch sizes or more) and predicts the input's step. Pure. */
export function planFromProbes(input: PlanInput, probes: ProbeResult[]): MemoryPlan {
  const fit = (key: 'weights' | 'adam' | 'endPeak' | 'activationPeak') => fitMemory(probes.map((p) => ({ layers: p.layers, batch: p.batch, y: p[key] })));
  const fits = { weights: fit('weights'), adam: fit('adam'), gradients: fit('endPeak'), activations: fit('activationPeak') };
  const n = input.model.n_layers;
  // Negative parts (fit noise around zero) are taken as zero.
  const fixed = (f: Fit) => Math.max(0, f.fixed + f.perLayer * n);
  const perTriple = (f: Fit) => Math.max(0, f.perTriple + f.perTripleLayer * n);
  const weights = fixed(fits.weights);
  const split = {
    weights,
    adam: fixed(fits.adam),
    accumulated: weights,
    gradientsFixed: fixed(fits.gradients),
    gradientsPerTriple: perTriple(fits.gradients),
    activationsFixed: fixed(fits.activations),
    activationsPerTriple: perTriple(fits.activations),
  };
  const options = divisors(input.batchSize).map((k) => optionFor(split, input.batchSize, k));
  const memory = input.memory ?? null;
  const choice = memory === null ? null : (options.find((o) => o.peak <= memory) ?? null);
  return { input, backend: probes[0].backend, measure: probes[0].measure, probes, fits, split, options, memory, choice };
}

/**
 * Measures the probe grid, each size in a fresh child process on the input's backend, and plans from it.
 * `onProgress` gets one line per probe as it starts and ends.
 */
export async function planMemory(input: PlanInput, onProgress: (line: string) => void = () => {}): Promise<MemoryPlan> {
  const probes: ProbeResult[] = [];
  const total = PROBE_LAYERS.length * PROBE_BATCHES.length;
  for (const layers of PROBE_LAYERS) {
    for (const batch of PROBE_BATCHES) {
      const i = probes.length + 1;
      onProgress(`memory probe ${i}/${total}: ${layers} layer${layers > 1 ? 's' : ''}, batch ${batch}, ${input.backend} ...`);
      const spec = { model: { ...input.model, n_layers: layers }, batch, queryLength: input.queryLength, passageLength: input.passageLength, recompute: input.recompute };
      const p = await probeInChild(spec, input.backend);
      const peak = p.weights + p.adam + Math.max(p.activationPeak, p.endPeak);
      onProgress(`memory probe ${i}/${total}: peak ${fmt(peak)} (${p.backend}, ${p.measure}), ${p.seconds.toFixed(1)} s`);
      probes.push(p);
    }
  }
  return planFromProbes(input, probes);
}

/** One line with the numbers: the accumulation chosen and why, or why nothing fits (what `auto` prints). */
export function choiceLine(plan: MemoryPlan): string {
  const s = plan.split;
  const mem = plan.memory === null ? '(no memory given)' : fmt(plan.memory);
  const parts = (o: PlanOption) =>
    `weights ${fmt(s.weights)} + Adam ${fmt(s.adam)}${o.accumulation > 1 ? ` + accumulated gradients ${fmt(s.accumulated)}` : ''} + max(gradients ${fmt(o.gradients)}, activations ${fmt(o.activations)})`;
  const where = `${plan.backend}, ${plan.measure}`;
  if (plan.choice) {
    const o = plan.choice;
    const prev = plan.options[plan.options.indexOf(o) - 1];
    return (
      `accumulation_steps ${o.accumulation} (micro-batches of ${o.microBatch}): predicted peak ${fmt(o.peak)} <= ${mem} ` +
      `(${parts(o)})${prev ? `; ${prev.accumulation} would need ${fmt(prev.peak)}` : ''} [${where}]`
    );
  }
  const least = plan.options.reduce((a, b) => (b.peak < a.peak ? b : a));
  return (
    `the step does not fit ${mem} at any accumulation_steps dividing the batch of ${plan.input.batchSize}: the lowest predicted peak is ` +
    `${fmt(least.peak)} at ${least.accumulation} (micro-batches of ${least.microBatch}; ${parts(least)}) [${where}]; ` +
    'lower train.batch_size, set train.recompute=layers, shorten the sequences or use a larger device'
  );
}

/** The plan as text for `margin-mse train plan`. */
export function describePlan(plan: MemoryPlan): string[] {
  const { input: i, split: s } = plan;
  const m = i.model;
  const lines = [
    `memory plan: DistilBERT ${m.n_layers} layers, dim ${m.dim}, ${m.n_heads} heads, FFN ${m.hidden_dim}, vocab ${m.vocab_size}; batch ${i.batchSize}, ` +
      `query ${i.queryLength} / passage ${i.passageLength} tokens (full length), recompute ${i.recompute}`,
    `measured on ${plan.backend}: ${MEASURE_NOTES[plan.measure]}; probes of ${PROBE_LAYERS.join(', ')} layers × batch ${PROBE_BATCHES.join(', ')}, fitted to fixed + per layer + per triple + per triple per layer`,
    '',
    `  weights                ${fmt(s.weights).padStart(11)}`,
    `  Adam state             ${fmt(s.adam).padStart(11)}`,
    `  accumulated gradients  ${fmt(s.accumulated).padStart(11)}   only when accumulation_steps > 1`,
    `  gradients              ${fmt(s.gradientsFixed).padStart(11)} + ${fmt(s.gradientsPerTriple)} per triple of a micro-batch: the end of the backward and Adam`,
    `  activations            ${fmt(s.activationsFixed).padStart(11)} + ${fmt(s.activationsPerTriple)} per triple of a micro-batch: the forward and the blocks' backward`,
    '  peak = weights + Adam + accumulated + max(gradients, activations)',
    '',
    '  accumulation  micro-batch    gradients  activations  predicted peak',
    ...plan.options.map(
      (o) =>
        `  ${String(o.accumulation).padStart(12)}  ${String(o.microBatch).padStart(11)}  ${fmt(o.gradients).padStart(11)}  ${fmt(o.activations).padStart(11)}  ${fmt(o.peak).padStart(14)}${plan.choice === o ? '  <- fits' : ''}`,
    ),
  ];
  if (plan.memory !== null) lines.push('', choiceLine(plan));
  if (plan.backend === 'wasm') {
    lines.push("note: live buffers are what a GPU or native backend would hold; a run on wasm itself has a 4 GiB heap, and its allocator's overhead on top");
  }
  return lines;
}
