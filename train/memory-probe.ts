import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { ROOT } from '../common/paths.js';
import type { GroupBatch } from '../data/batch.js';
import { collateGroups, type Padded } from '../data/collate.js';
import { DistilBert, type DistilBertConfig } from '../models/distilbert.js';
import type { BackendChoice } from '../models/engine/backend.js';
import type { MemoryMeasure, MemoryTracker } from '../models/engine/memory-tracker.js';
import type { Recompute } from '../models/transformer.js';
import { Adam } from './adam.js';
import { bertDotStudent } from './bert-dot-student.js';
import { lossTerms } from './loss-terms.js';
import { stepGradients } from './step.js';
import type { Student } from './student.js';

/** The DistilBERT size fields a probe builds its student from. */
export type ModelSizes = Pick<DistilBertConfig, 'vocab_size' | 'max_position_embeddings' | 'dim' | 'n_layers' | 'n_heads' | 'hidden_dim'>;

/** One measured training step: a random student of these sizes, `batch` triples of full-length sequences. */
export interface ProbeSpec {
  model: ModelSizes;
  batch: number;
  queryLength: number;
  passageLength: number;
  recompute: Recompute;
}

/**
 * What one step held, in bytes of the tracker's measure. `weights` and `adam` are live before the step; the
 * other figures are above them (weights + Adam state):
 * - saved: live when the backward pass starts (the activations the forward kept for it);
 * - activationPeak: the high-water of the forward and the blocks' backward, before the word embedding's
 *   dense table-size gradient;
 * - endPeak: the high-water from that gradient through Adam's update (all gradients, the lookups' dense
 *   table gradients and their sum, Adam's temporaries);
 * - gradientsPeak, adamPeak: the high-water during stepGradients, during Adam.apply.
 */
export interface ProbeResult {
  layers: number;
  batch: number;
  backend: string;
  measure: MemoryMeasure;
  weights: number;
  adam: number;
  saved: number;
  activationPeak: number;
  endPeak: number;
  gradientsPeak: number;
  adamPeak: number;
  /** The high-water of tfjs's tf.memory().numBytes over the step, whatever the measure. */
  engine: number;
  /** Wall time of the step (gradients and Adam), seconds. */
  seconds: number;
  /** CPU time of the step (user + system, every thread of the process), seconds: with one thread, the step's work whatever the machine's load. */
  cpuSeconds: number;
}

/** Deterministic token ids in [1, vocab): the probe's memory does not depend on which ids. */
function ids(n: number, seed: number, vocab: number): Int32Array {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = 1 + (s % (vocab - 1));
  }
  return out;
}

/** `size` triples (groups of 2), every sequence at its full length (the worst case a batch padded to its longest reaches). */
export function fullLengthBatch(size: number, qLen: number, pLen: number, vocab: number): GroupBatch {
  const full = (seed: number, len: number): Padded => ({ rows: size, len, ids: ids(size * len, seed, vocab), mask: new Int32Array(size * len).fill(1) });
  const teacher = [new Float32Array(size).map((_, i) => Math.sin(i)), new Float32Array(size).map((_, i) => Math.cos(i))];
  return collateGroups(full(1, qLen), [full(2, pLen), full(3, pLen)], teacher);
}

/**
 * Runs the trainer's own step (train/step.ts stepGradients with Margin-MSE, no accumulation, then
 * Adam.apply) once and reads the tracker around it. The tracker must be installed before this is called
 * (with watchBytes the word embedding's size), so the weights and Adam's state count as allocations.
 * `more` runs after the measured step, before the student is disposed (e.g. a profiled step).
 */
export async function probeStep(
  spec: ProbeSpec,
  tracker: MemoryTracker,
  more?: (s: { student: Student; adam: Adam; batch: GroupBatch }) => Promise<void>,
): Promise<ProbeResult> {
  const before = tracker.live();
  const model = DistilBert.random(spec.model, 1);
  model.recompute = spec.recompute;
  const weights = tracker.live() - before;
  const adam = new Adam(model.weights);
  const state = tracker.live() - before;
  const student = bertDotStudent(model);
  const batch = fullLengthBatch(spec.batch, spec.queryLength, spec.passageLength, spec.model.vocab_size);
  try {
    // The encoder outputs' gradients are the first of the backward pass past the (tiny) scores and loss: a probe
    // at the first of them sees what the forward kept. The step itself is the trainer's, on a student whose
    // encode passes through the probe.
    let atBackward = 0;
    const probe = tf.customGrad((...x: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.clone(x[0] as tf.Tensor),
      gradFunc: (dy: tf.Tensor) => {
        if (atBackward === 0) atBackward = tracker.live();
        return tf.clone(dy);
      },
    }));
    const probed: Student = { ...student, encode: (ids, mask) => probe(student.encode(ids, mask)) as tf.Tensor2D };
    const base = before + state;
    tracker.reset();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const { grads } = await stepGradients(probed, lossTerms('margin-mse'), batch, 1);
    const g = tracker.marks();
    tracker.reset();
    adam.apply(grads, 1e-5);
    tf.dispose([...grads.values()]);
    const a = tracker.marks();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (g.fromWatch === undefined) throw new Error(`no buffer of the word embedding's size (${spec.model.vocab_size} x ${spec.model.dim}) during the step: cannot split its peak`);
    const result: ProbeResult = {
      layers: spec.model.n_layers,
      batch: spec.batch,
      backend: tf.getBackend(),
      measure: tracker.measure,
      weights,
      adam: state - weights,
      saved: atBackward - base,
      activationPeak: g.beforeWatch - base,
      endPeak: Math.max(g.fromWatch, a.peak) - base,
      gradientsPeak: g.peak - base,
      adamPeak: a.peak - base,
      engine: Math.max(g.engine, a.engine),
      seconds,
      cpuSeconds,
    };
    if (more) await more({ student, adam, batch });
    return result;
  } finally {
    adam.dispose();
    model.dispose();
  }
}

// Compiled (dist/, the installed CLI) the child is JavaScript node runs as is; from the sources it is run through tsx.
const COMPILED = import.meta.url.endsWith('.js');
const CHILD = fileURLToPath(new URL(`./memory-probe-child.${COMPILED ? 'js' : 'ts'}`, import.meta.url));

/**
 * probeStep in a fresh child process on `backend` (its high-water marks are that step's alone, and a step
 * too large for the backend fails there, not here). Rejects with the child's last error line.
 */
export function probeInChild(spec: ProbeSpec, backend: BackendChoice): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    // cwd: the package root, where `--import tsx` resolves (the child reads no files).
    const args = [...(COMPILED ? [] : ['--import', 'tsx']), CHILD, JSON.stringify({ spec, backend })];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) return resolve(JSON.parse(line) as ProbeResult);
      const lines = err.split('\n').map((l) => l.trim());
      const why = lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.filter(Boolean).pop() ?? `exit ${code ?? signal}`;
      reject(new Error(`memory probe (${spec.model.n_layers} layers, batch ${spec.batch}, ${backend}) failed: ${why}`));
    });
  });
}
