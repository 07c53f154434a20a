/**
 * Memory of one Margin-MSE training step of the BERT_Dot student at DistilBERT width (dim 768, 12 heads,
 * FFN 3072, vocabulary 30522), queries of 30 and passages of 200 tokens (full length, random ids): the trainer's
 * own step (train/step.ts stepGradients, then Adam.apply), no accumulation. Each (layers, batch, recompute) runs
 * in a fresh child process, so the high-water marks are that step's alone. Per step it records:
 *   - buffers: the high-water mark of the backend's tensor memory (models/engine/memory-tracker.ts, installed
 *     before the model exists): on wasm its live buffers, each once (views and saved clones share one buffer;
 *     kernels' own temporaries count), what a GPU or native backend would hold; on cpu its live typed arrays;
 *     elsewhere tfjs's numBytes. Weights and Adam's state included. The measure is printed with the table.
 *     Also split: during stepGradients, during Adam.apply, before the embedding's first
 *     table-size gradient (activationPeak: the forward and the blocks' backward), the state before the step
 *     (weights + Adam) and `saved`, what is live beyond that state when the backward pass starts (a probe on
 *     the encoder outputs' gradients): the activations kept for the backward, PyTorch's saved tensors' counterpart.
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
 * The step time of `layers` over `none` at each size is recompute's cost (meaningful at idle only).
 * The child's step is train/memory-probe.ts's probeStep, the one `margin-mse train plan` measures.
 * Run: npx tsx bench/memory.ts [--layers 1,2,3] [--batches 2,3,4] [--recompute none,layers] [--backend wasm]
 *      [--no-torch] [--no-torch-paper] [--profile]  → table + bench/out/memory.json
 *      npx tsx bench/memory.ts --quick  (layers 1,2 x batches 2,4, no PyTorch) → bench/out/memory-quick.json
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { writeJsonAtomic } from '../common/atomic.js';
import { ROOT } from '../common/paths.js';
import type { GroupBatch } from '../data/batch.js';
import { DISTILBERT_BASE } from '../models/distilbert.js';
import { initBackend, type BackendChoice } from '../models/engine/backend.js';
import { MEASURE_NOTES, trackMemory, type MemoryMeasure } from '../models/engine/memory-tracker.js';
import { RECOMPUTE_CHOICES, type Recompute } from '../models/transformer.js';
import type { Adam } from '../train/adam.js';
import { lossTerms } from '../train/loss-terms.js';
import { fitMemory, predict, type Fit } from '../train/memory-plan.js';
import { probeStep } from '../train/memory-probe.js';
import { stepGradients } from '../train/step.js';
import type { Student } from '../train/student.js';

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
  backend?: string;
  measure?: MemoryMeasure;
  buffers?: number; // high-water of live backend buffers over the whole step
  buffersGradients?: number; // ... during stepGradients
  buffersAdam?: number; // ... during Adam.apply
  state?: number; // live buffers before the step: weights and Adam's moments
  saved?: number; // live buffers when the backward pass starts, less `state`: what the forward kept for it
  activationPeak?: number; // high-water before the embedding's table-size gradient: the forward and the blocks' backward
  engine?: number;
  heap?: number;
  rss?: number;
  stepS?: number;
  stepCpuS?: number;
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

/** The child: one training step of the given size (train/memory-probe.ts), printed as one JSON line. */
async function child(): Promise<void> {
  const layers = Number(arg('layers', '1'));
  const batch = Number(arg('batch', '1'));
  const recompute = arg('recompute', 'none');
  const backendName = arg('backend', 'wasm') as BackendChoice;
  const out: Measure = { layers, batch, recompute, ok: false };
  try {
    if (!RECOMPUTE_CHOICES.includes(recompute as Recompute)) throw new Error(`--recompute: expected one of ${RECOMPUTE_CHOICES.join(', ')}`);
    await initBackend(backendName, { quiet: true });
    // Installed before the model exists, so the weights and Adam's state are counted too.
    const tracker = trackMemory({ watchBytes: DISTILBERT_BASE.vocab_size * DISTILBERT_BASE.dim * 4 });
    const spec = { model: { ...DISTILBERT_BASE, n_layers: layers }, batch, queryLength: Q_LEN, passageLength: P_LEN, recompute: recompute as Recompute };
    const profileStep = async ({ student, adam, batch: tb }: { student: Student; adam: Adam; batch: GroupBatch }) => {
      const info = await tf.profile(async () => {
        const r = await stepGradients(student, lossTerms('margin-mse'), tb, 1);
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
    };
    const r = await probeStep(spec, tracker, flag('profile') ? profileStep : undefined);
    const state = r.weights + r.adam;
    out.backend = r.backend;
    out.measure = r.measure;
    out.state = state;
    out.saved = r.saved;
    out.activationPeak = state + r.activationPeak;
    out.buffersGradients = state + r.gradientsPeak;
    out.buffersAdam = state + r.adamPeak;
    out.buffers = Math.max(out.buffersGradients, out.buffersAdam);
    out.engine = r.engine;
    out.stepS = r.seconds;
    out.stepCpuS = r.cpuSeconds;
    if (r.backend === 'wasm') out.heap = ((tf.backend() as BackendWasm).wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.length;
    out.rss = process.resourceUsage().maxRSS * 1024;
    out.ok = true;
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

const mib = (v: number | undefined) => (v == null ? '-' : (v / MiB).toFixed(0));
const gib = (v: number | undefined) => (v == null ? '-' : (v / GiB).toFixed(2));

async function main(): Promise<void> {
  // --quick: the memory plan's grid (2 x 2 sizes), no PyTorch: a few minutes instead of the better part of an hour.
  const quick = flag('quick');
  const layerList = list(arg('layers', quick ? '1,2' : '1,2,3'));
  // Batch 1 is left out by default: its activation peak falls at another moment of the step and lies off the
  // line through batches 2 and up (docs/train.md).
  const batchList = list(arg('batches', quick ? '2,4' : '2,3,4'));
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
        process.stderr.write(m.ok ? `${m.measure} ${(m.buffers! / MiB).toFixed(0)} MiB, heap ${mib(m.heap)} MiB, ${m.stepS!.toFixed(1)} s\n` : `failed: ${m.error}\n`);
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
      if (ok.some((m) => m[key] === undefined)) continue; // heap: wasm only
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
  const py = flag('no-torch') || quick ? null : torchPython();
  if (py == null) {
    torch.note = flag('no-torch') || quick ? 'skipped (--no-torch or --quick)' : 'no python3 with torch here (Debian: apt-get install python3-torch libopenblas0-pthread): no PyTorch column';
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
  const measure = measures.find((m) => m.ok)?.measure;
  console.log(`Margin-MSE step, DistilBERT width, q ${Q_LEN} / p ${P_LEN}, ${backend}; ${os.cpus().length} cores, load ${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after`);
  if (measure) console.log(`buffers = ${measure}: ${MEASURE_NOTES[measure]}`);
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
        `paper step estimate (recompute ${recompute}): ${gib(paper)} GiB peak (${measure}); saved per triple per layer ` +
          `${mib(byKey.saved?.perTripleLayer)} MiB${savedRatio == null ? '' : ` = ${savedRatio.toFixed(2)}x pytorch's ${mib(torch.fits.saved.perTripleLayer)} MiB`}`,
      );
      return [recompute, { paperPeak: paper, savedVsTorch: savedRatio }];
    }),
  );
  // Recompute's cost: the step's time (gradients and Adam) with `layers` over `none`, size by size, in wall
  // seconds (meaningful only on an idle machine) and in CPU seconds (the work itself; with MARGIN_MSE_THREADS=1
  // no thread spins waiting for another, so a loaded machine does not inflate it).
  const ratioOf = (key: 'stepS' | 'stepCpuS') => {
    const ratios: number[] = [];
    for (const m of measures) {
      const base = measures.find((n) => n.ok && n.recompute === 'none' && n.layers === m.layers && n.batch === m.batch);
      if (m.ok && m.recompute === 'layers' && base) ratios.push(m[key]! / base[key]!);
    }
    return ratios.length ? { layersOverNone: ratios, median: [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)] } : null;
  };
  const timing = ratioOf('stepS');
  const cpuTiming = ratioOf('stepCpuS');
  const threads = process.env.MARGIN_MSE_THREADS ?? 'every core';
  if (timing) console.log(`step wall time, recompute layers / none: ${timing.layersOverNone.map((r) => r.toFixed(2)).join(' ')} (median ${timing.median.toFixed(2)}x; load ${os.loadavg()[0].toFixed(1)})`);
  if (cpuTiming) console.log(`step CPU time, recompute layers / none: ${cpuTiming.layersOverNone.map((r) => r.toFixed(2)).join(' ')} (median ${cpuTiming.median.toFixed(2)}x; threads: ${threads})`);
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
  await writeJsonAtomic(path.join(ROOT, 'bench', 'out', quick ? 'memory-quick.json' : 'memory.json'), {
    date: new Date().toISOString(),
    cores: os.cpus().length,
    loadAverage: { before: loadBefore, after: os.loadavg()[0] },
    shapes: { dim: 768, heads: 12, hidden: 3072, vocab: 30522, qLen: Q_LEN, pLen: P_LEN, paper: PAPER },
    backend,
    measures,
    fits,
    estimates,
    timing,
    cpuTiming: cpuTiming && { ...cpuTiming, threads },
    torch,
  });
}

if (flag('child')) await child();
else await main();
