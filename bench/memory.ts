/**
 * Memory of one Margin-MSE training step of the BERT_Dot student at DistilBERT width (dim 768, 12 heads,
 * FFN 3072, vocabulary 30522), queries of 30 and passages of 200 tokens (full length, random ids): the trainer's
 * own step (train/step.ts batchGradients, then Adam.apply), no accumulation. Each (layers, batch, recompute) runs
 * in a fresh child process, so the high-water marks are that step's alone. Per step it records:
 *   - buffers: the high-water mark of the backend's live tensor buffers, each buffer once (the bench wraps the
 *     wasm backend's allocate and free from before the model exists; views and saved clones share one buffer and
 *     count once; kernels' own temporaries count). What a GPU or native backend would hold; weights and Adam's
 *     state included. Also split: during batchGradients, during Adam.apply, before the embedding's first
 *     table-size gradient (activationPeak: the forward and the blocks' backward), the state before the step
 *     (weights + Adam) and `saved`, what is live beyond that state when the backward pass starts (a probe on
 *     the loss): the activations kept for the backward, PyTorch's saved tensors' counterpart.
 *   - engine: the high-water mark of tfjs's own accounting, tf.memory().numBytes, sampled at every allocation.
 *     It counts every tensor handle in full (a reshaped view or a clone saved for the backward counts again)
 *     and misses kernels' internal temporaries: reported because it is what tfjs says, not relied on.
 *   - heap: the wasm heap's size after the step (backend.wasm.HEAPU8.length; it only grows, so it is the
 *     high-water mark including the allocator's overhead and fragmentation, and XNNPACK's packed weights).
 *   - rss: the process's peak resident memory (process.resourceUsage().maxRSS).
 * Each measure is fitted by least squares to fixed + per layer + per triple + per triple per layer (the per
 * layer term is the layer's weights, gradients and Adam state) and extrapolated to the paper's step (6 layers,
 * batch 32). Beside it, PyTorch's figures for the same step from bench/torch_memory.py (saved tensors + weights +
 * gradients + Adam, and max RSS), fitted the same way, and measured directly at the paper's size.
 * With --profile, one extra step of the smallest size runs under tf.profile for the per-kernel breakdown.
 * Run: npx tsx bench/memory.ts [--layers 1,2,3] [--batches 1,2,3,4] [--recompute none,layers] [--backend wasm]
 *      [--no-torch] [--no-torch-paper] [--profile]  → table + bench/out/memory.json
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { writeJsonAtomic } from '../common/atomic.js';
import { ROOT } from '../common/paths.js';
import type { TripleBatch } from '../data/batch.js';
import { DISTILBERT_BASE, DistilBert } from '../models/distilbert.js';
import { initBackend, type BackendChoice } from '../models/engine/backend.js';
import { RECOMPUTE_CHOICES, type Recompute } from '../models/transformer.js';
import { Adam } from '../train/adam.js';
import { marginMse } from '../train/losses.js';
import { batchGradients } from '../train/step.js';
import { bertDotStudent } from '../train/bert-dot-student.js';

const Q_LEN = 30;
const P_LEN = 200;
const PAPER = { layers: 6, batch: 32 };
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const THIS = fileURLToPath(import.meta.url);

/** One child's figures, in bytes. */
interface Measure {
  layers: number;
  batch: number;
  recompute: string;
  ok: boolean;
  error?: string;
  buffers?: number; // high-water of live backend buffers over the whole step
  buffersGradients?: number; // ... during batchGradients
  buffersAdam?: number; // ... during Adam.apply
  state?: number; // live buffers before the step: weights and Adam's moments
  saved?: number; // live buffers when the backward pass starts, less `state`: what the forward kept for it
  activationPeak?: number; // high-water before the embedding's table-size gradient: the forward and the blocks' backward
  engine?: number;
  heap?: number;
  rss?: number;
  stepS?: number;
  profile?: { peakBytes: number; kernels: { name: string; calls: number; bytesAdded: number }[] };
}

interface TorchMeasure {
  layers: number;
  batch: number;
  saved_bytes: number;
  weight_bytes: number;
  grad_bytes: number;
  adam_bytes: number;
  accounted_bytes: number;
  max_rss_bytes: number;
  torch: string;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const list = (s: string) => s.split(',').map(Number);

/** Deterministic token ids in [1000, 30000). */
function ids(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = 1000 + (s % 29000);
  }
  return out;
}

function batchOf(size: number): TripleBatch {
  const full = (n: number) => new Int32Array(n).fill(1);
  return {
    size,
    qLen: Q_LEN,
    qIds: ids(size * Q_LEN, 1),
    qMask: full(size * Q_LEN),
    pLen: P_LEN,
    posIds: ids(size * P_LEN, 2),
    posMask: full(size * P_LEN),
    nLen: P_LEN,
    negIds: ids(size * P_LEN, 3),
    negMask: full(size * P_LEN),
    teacherPos: new Float32Array(size).map((_, i) => Math.sin(i)),
    teacherNeg: new Float32Array(size).map((_, i) => Math.cos(i)),
    hasTeacher: true,
  };
}

/**
 * Wraps the wasm backend's allocation (move) and release (disposeData) to follow the bytes of live buffers,
 * and samples tf.memory().numBytes at each allocation. Measurement only: the bench's own process.
 */
function trackBuffers(backend: BackendWasm, tableBytes: number) {
  const sizes = new Map<object, number>();
  let live = 0;
  const marks = { buffers: 0, engine: 0 };
  let beforeTable: number | undefined; // high-water when the first table-size buffer of a step was allocated
  const sample = () => {
    marks.buffers = Math.max(marks.buffers, live);
    marks.engine = Math.max(marks.engine, tf.memory().numBytes);
  };
  const move = backend.move.bind(backend);
  backend.move = (dataId, values, shape, dtype, refCount) => {
    sample(); // the engine has tracked the previous tensor by now
    move(dataId, values, shape, dtype, refCount);
    const bytes = dtype === 'string' ? 0 : shape.reduce((a, b) => a * b, 1) * (dtype === 'bool' ? 1 : 4);
    if (bytes === tableBytes && beforeTable === undefined) beforeTable = marks.buffers;
    sizes.set(dataId, bytes);
    live += bytes;
    sample();
  };
  const dispose = backend.disposeData.bind(backend);
  backend.disposeData = (dataId, force) => {
    sample();
    const freed = dispose(dataId, force);
    if (freed && sizes.has(dataId)) {
      live -= sizes.get(dataId)!;
      sizes.delete(dataId);
    }
    return freed;
  };
  return {
    /** The bytes live now. */
    live: () => live,
    /** The high-water mark before the step's first word-table-size buffer (the embedding's gradient). */
    beforeTable: () => beforeTable,
    /** Starts a new high-water mark at the current level. */
    reset() {
      beforeTable = undefined;
      marks.buffers = live;
      marks.engine = tf.memory().numBytes;
    },
    read() {
      sample();
      return { ...marks };
    },
  };
}

/** The child: one training step of the given size, printed as one JSON line. */
async function child(): Promise<void> {
  const layers = Number(arg('layers', '1'));
  const batch = Number(arg('batch', '1'));
  const recompute = arg('recompute', 'none');
  const backendName = arg('backend', 'wasm') as Exclude<BackendChoice, 'auto'>;
  const out: Measure = { layers, batch, recompute, ok: false };
  try {
    await initBackend(backendName, { quiet: true });
    if (tf.getBackend() !== 'wasm') throw new Error('buffer tracking is written for the wasm backend');
    const backend = tf.backend() as BackendWasm;
    // Installed before the model exists, so the weights and Adam's state are counted as live buffers.
    const tracker = trackBuffers(backend, DISTILBERT_BASE.vocab_size * DISTILBERT_BASE.dim * 4);
    if (!RECOMPUTE_CHOICES.includes(recompute as Recompute)) throw new Error(`--recompute: expected one of ${RECOMPUTE_CHOICES.join(', ')}`);
    const model = DistilBert.random({ n_layers: layers }, 1);
    model.recompute = recompute as Recompute;
    const adam = new Adam(model.weights);
    const student = bertDotStudent(model);
    const tb = batchOf(batch);
    // The loss's gradient is the first the backward pass computes: a probe there sees what the forward kept.
    let atBackward = 0;
    const probe = tf.customGrad((...x: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.clone(x[0] as tf.Tensor),
      gradFunc: (dy: tf.Tensor) => {
        atBackward = tracker.live();
        return tf.clone(dy);
      },
    }));
    const loss: typeof marginMse = (...args) => probe(marginMse(...args)) as tf.Scalar;
    out.state = tracker.live();
    tracker.reset();
    const t0 = performance.now();
    const { grads } = await batchGradients(student, loss, tb, 1);
    out.saved = atBackward - out.state;
    out.activationPeak = tracker.beforeTable();
    const afterGradients = tracker.read();
    tracker.reset();
    adam.apply(grads, 1e-5);
    tf.dispose([...grads.values()]);
    const afterAdam = tracker.read();
    out.stepS = (performance.now() - t0) / 1000;
    out.buffersGradients = afterGradients.buffers;
    out.buffersAdam = afterAdam.buffers;
    out.buffers = Math.max(afterGradients.buffers, afterAdam.buffers);
    out.engine = Math.max(afterGradients.engine, afterAdam.engine);
    out.heap = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.length;
    out.rss = process.resourceUsage().maxRSS * 1024;
    if (flag('profile')) {
      const info = await tf.profile(async () => {
        const r = await batchGradients(student, marginMse, tb, 1);
        adam.apply(r.grads, 1e-5);
        tf.dispose([...r.grads.values()]);
      });
      const byName = new Map<string, { calls: number; bytesAdded: number }>();
      for (const k of info.kernels) {
        const e = byName.get(k.name) ?? { calls: 0, bytesAdded: 0 };
        e.calls++;
        e.bytesAdded += Math.max(0, k.bytesAdded);
        byName.set(k.name, e);
      }
      const kernels = [...byName].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.bytesAdded - a.bytesAdded);
      out.profile = { peakBytes: info.peakBytes, kernels };
    }
    out.ok = true;
    adam.dispose();
    model.dispose();
  } catch (err) {
    out.error = (err as Error).message.split('\n')[0];
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function runChild(layers: number, batch: number, recompute: string, backend: string, profile: boolean): Measure {
  const args = ['--import', 'tsx', THIS, '--child', '--layers', String(layers), '--batch', String(batch), '--recompute', recompute, '--backend', backend];
  if (profile) args.push('--profile');
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * MiB });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Measure;
  } catch {
    return { layers, batch, recompute, ok: false, error: `child exited ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').pop() ?? ''}` };
  }
}

/** A python3 that imports torch (pyenv shims often hide Debian's), or null. */
function torchPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}

function runTorch(py: string, layers: number, batch: number, threads: number): TorchMeasure | string {
  const r = spawnSync(py, [path.join(ROOT, 'bench', 'torch_memory.py'), '--layers', String(layers), '--batch', String(batch), '--threads', String(threads)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return `torch_memory.py failed: ${r.stderr.trim().split('\n').pop()}`;
  return JSON.parse(r.stdout) as TorchMeasure;
}

/**
 * Least squares fit of y = c0 + c1 N + c2 B + c3 B N over the points. Hand-written: four unknowns, solved
 * through the normal equations by Gaussian elimination; no dependency needed for that.
 */
export function fitMemory(points: { layers: number; batch: number; y: number }[]): { fixed: number; perLayer: number; perTriple: number; perTripleLayer: number } {
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

type Fit = ReturnType<typeof fitMemory>;
const predict = (f: Fit, layers: number, batch: number) => f.fixed + f.perLayer * layers + f.perTriple * batch + f.perTripleLayer * batch * layers;

async function main(): Promise<void> {
  const layerList = list(arg('layers', '1,2,3'));
  const batchList = list(arg('batches', '1,2,3,4'));
  const modes = arg('recompute', 'none,layers').split(',');
  const backend = arg('backend', 'wasm');
  const loadBefore = os.loadavg()[0];
  const measures: Measure[] = [];
  for (const recompute of modes) {
    for (const layers of layerList) {
      for (const batch of batchList) {
        process.stderr.write(`${backend} recompute=${recompute} layers=${layers} batch=${batch}... `);
        const profile = flag('profile') && layers === layerList[0] && batch === batchList[0];
        const m = runChild(layers, batch, recompute, backend, profile);
        process.stderr.write(m.ok ? `buffers ${(m.buffers! / MiB).toFixed(0)} MiB, heap ${(m.heap! / MiB).toFixed(0)} MiB, ${m.stepS!.toFixed(1)} s\n` : `failed: ${m.error}\n`);
        measures.push(m);
      }
    }
  }

  const keys = ['buffers', 'buffersGradients', 'activationPeak', 'saved', 'engine', 'heap', 'rss'] as const;
  const fits: Record<string, Record<string, Fit & { paper: number }>> = {};
  for (const recompute of modes) {
    fits[recompute] = {};
    const ok = measures.filter((m) => m.ok && m.recompute === recompute);
    for (const key of keys) {
      try {
        const f = fitMemory(ok.map((m) => ({ layers: m.layers, batch: m.batch, y: m[key]! })));
        fits[recompute][key] = { ...f, paper: predict(f, PAPER.layers, PAPER.batch) };
      } catch (err) {
        process.stderr.write(`no ${key} fit for recompute=${recompute}: ${(err as Error).message}\n`);
      }
    }
  }

  // PyTorch: the same grid (fitted the same way) and, unless --no-torch-paper, the paper's step itself.
  let torch: { note: string; grid: TorchMeasure[]; fits: Record<string, Fit & { paper: number }>; paper?: TorchMeasure } = { note: '', grid: [], fits: {} };
  const py = flag('no-torch') ? null : torchPython();
  if (py == null) {
    torch.note = flag('no-torch') ? 'skipped (--no-torch)' : 'no python3 with torch here (Debian: apt-get install python3-torch libopenblas0-pthread): no PyTorch column';
  } else {
    for (const layers of layerList) {
      for (const batch of batchList) {
        process.stderr.write(`pytorch layers=${layers} batch=${batch}...\n`);
        const t = runTorch(py, layers, batch, 1);
        if (typeof t === 'string') torch.note = t;
        else torch.grid.push(t);
      }
    }
    for (const [key, field] of [['saved', 'saved_bytes'], ['accounted', 'accounted_bytes'], ['rss', 'max_rss_bytes']] as const) {
      if (torch.grid.length < 4) break;
      const f = fitMemory(torch.grid.map((t) => ({ layers: t.layers, batch: t.batch, y: t[field] })));
      torch.fits[key] = { ...f, paper: predict(f, PAPER.layers, PAPER.batch) };
    }
    if (!flag('no-torch-paper')) {
      process.stderr.write(`pytorch paper step (layers=${PAPER.layers} batch=${PAPER.batch})...\n`);
      const t = runTorch(py, PAPER.layers, PAPER.batch, os.cpus().length);
      if (typeof t === 'string') torch.note = t;
      else torch.paper = t;
    }
    torch.note ||= `torch ${torch.grid[0]?.torch ?? torch.paper?.torch}, ${py}`;
  }

  // Report.
  const mib = (v: number | undefined) => (v == null ? '-' : (v / MiB).toFixed(0));
  const gib = (v: number | undefined) => (v == null ? '-' : (v / GiB).toFixed(2));
  console.log(`Margin-MSE step, DistilBERT width, q ${Q_LEN} / p ${P_LEN}, ${backend}; ${os.cpus().length} cores, load ${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after`);
  console.log('recompute layers batch  buffers MiB (grads / adam)  engine MiB  heap MiB  rss MiB  step s');
  for (const m of measures) {
    const head = `${m.recompute.padStart(9)} ${String(m.layers).padStart(6)} ${String(m.batch).padStart(5)}`;
    if (!m.ok) console.log(`${head}  failed: ${m.error}`);
    else console.log(`${head}  ${mib(m.buffers).padStart(6)} (${mib(m.buffersGradients)} / ${mib(m.buffersAdam)})  ${mib(m.engine).padStart(10)}  ${mib(m.heap).padStart(8)}  ${mib(m.rss).padStart(7)}  ${m.stepS!.toFixed(1).padStart(6)}`);
  }
  console.log(`\nfit: fixed + per layer + per triple + per triple per layer (MiB); paper step (${PAPER.layers} layers, batch ${PAPER.batch}) in GiB`);
  const fitLine = (label: string, f: Fit & { paper: number }) =>
    console.log(`${label.padEnd(24)} ${mib(f.fixed).padStart(6)} ${mib(f.perLayer).padStart(6)} ${mib(f.perTriple).padStart(6)} ${mib(f.perTripleLayer).padStart(6)}   ${gib(f.paper).padStart(6)}`);
  for (const [recompute, byKey] of Object.entries(fits)) for (const [key, f] of Object.entries(byKey)) fitLine(`tfjs ${key} (${recompute})`, f);
  for (const [key, f] of Object.entries(torch.fits)) fitLine(`pytorch ${key}`, f);
  // The step's peak is the larger of two regimes: activations (the forward and the blocks' backward; grows with
  // the batch) and the end of the backward and Adam (all gradients, the embedding's dense table gradients; fixed).
  // At the measured sizes the second often wins, so the paper's estimate takes the larger extrapolation.
  const estimates = Object.fromEntries(
    Object.entries(fits).map(([recompute, byKey]) => {
      const paper = Math.max(byKey.activationPeak?.paper ?? 0, byKey.buffers?.paper ?? 0);
      const savedRatio = byKey.saved && torch.fits.saved ? byKey.saved.perTripleLayer / torch.fits.saved.perTripleLayer : null;
      console.log(
        `paper step estimate (recompute ${recompute}): ${gib(paper)} GiB peak of live buffers; saved per triple per layer ` +
          `${mib(byKey.saved?.perTripleLayer)} MiB${savedRatio == null ? '' : ` = ${savedRatio.toFixed(2)}x pytorch's ${mib(torch.fits.saved.perTripleLayer)} MiB`}`,
      );
      return [recompute, { paperPeak: paper, savedVsTorch: savedRatio }];
    }),
  );
  if (torch.paper) {
    const t = torch.paper;
    console.log(`pytorch paper step measured: accounted ${gib(t.accounted_bytes)} GiB (saved ${gib(t.saved_bytes)}, weights ${gib(t.weight_bytes)}, grads ${gib(t.grad_bytes)}, adam ${gib(t.adam_bytes)}), max RSS ${gib(t.max_rss_bytes)} GiB`);
  }
  console.log(`pytorch: ${torch.note}`);
  const profiled = measures.find((m) => m.profile);
  if (profiled?.profile) {
    console.log(`\ntf.profile of one step (layers ${profiled.layers}, batch ${profiled.batch}): peakBytes ${mib(profiled.profile.peakBytes)} MiB; kernels by bytes added:`);
    for (const k of profiled.profile.kernels.slice(0, 15)) console.log(`  ${k.name.padEnd(28)} ${String(k.calls).padStart(5)} calls  ${mib(k.bytesAdded).padStart(7)} MiB`);
  }
  await writeJsonAtomic(path.join(ROOT, 'bench', 'out', 'memory.json'), {
    date: new Date().toISOString(),
    cores: os.cpus().length,
    loadAverage: { before: loadBefore, after: os.loadavg()[0] },
    shapes: { dim: 768, heads: 12, hidden: 3072, vocab: 30522, qLen: Q_LEN, pLen: P_LEN, paper: PAPER },
    backend,
    measures,
    fits,
    estimates,
    torch,
  });
}

if (flag('child')) await child();
else await main();
