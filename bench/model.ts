/**
 * Engine speed on the model's two hot paths, in one run, with ratios against PyTorch CPU:
 *   - a full Margin-MSE training step (train/step.ts stepGradients: encode → dotScores → margin-mse → gradients; then Adam) of the tiny student
 *     (2 layers, dim 128, 2 heads, FFN 512), batch 32, query 30 / passage 200 tokens;
 *   - a forward pass of a DistilBERT-size encoder (6 layers, dim 768, 12 heads, FFN 3072) over 8 passages of
 *     200 tokens.
 * On each requested tfjs backend (default: wasm, cpu, webgpu; one that cannot start gets a row saying why), on ONNX
 * Runtime (`onnx`: the forward only, the graph models/onnx builds from the same weights, intra-op threads = the
 * process's cores (MARGIN_MSE_THREADS, default every core), with ONNX Runtime's spin-waiting on and off), and
 * through bench/torch_model.py (same shapes) with 1 thread and with every core when a Python with torch is found
 * (Debian: python3-torch + libopenblas0-pthread).
 * Run: npx tsx bench/model.ts [--backends onnx,wasm,cpu,webgpu] [--repeats 3] [--slow-repeats 1] [--parts train,forward]
 *        [--fwd-rows 8] [--fwd-len 200]
 *   → table + bench/out/model.json. Medians of `repeats` timed runs after one warm-up; cpu and a software
 *   webgpu adapter: `slow-repeats` runs without warm-up. --fwd-rows / --fwd-len shrink the forward for a quick check.
 * On a machine with a GPU: npx tsx bench/model.ts --backends webgpu,wasm (doctor shows the adapter).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeJsonAtomic } from '../common/atomic.js';
import { ROOT } from '../common/paths.js';
import { Rng } from '../common/rng.js';
import type { GroupBatch } from '../data/batch.js';
import { collateGroups } from '../data/collate.js';
import { DISTILBERT_BASE, DistilBert } from '../models/distilbert.js';
import { initBackend, type BackendChoice } from '../models/engine/backend.js';
import { processThreads } from '../models/engine/threads.js';
import { hostWeights } from '../models/onnx/export.js';
import { OnnxBertDot } from '../models/onnx/inference.js';
import { Adam } from '../train/adam.js';
import { lossTerms } from '../train/loss-terms.js';
import { stepGradients } from '../train/step.js';
import { bertDotStudent } from '../train/bert-dot-student.js';

const TINY = { ...DISTILBERT_BASE, dim: 128, n_layers: 2, n_heads: 2, hidden_dim: 512 };
const BATCH = 32;
const Q_LEN = 30;
const P_LEN = 200;

interface Row {
  backend: string;
  trainStepS: number | null;
  forwardS: number | null;
  note: string;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** The DistilBERT-size forward's input: [rows, len] passages (default 8 x 200). */
const FWD_ROWS = Number(arg('fwd-rows', '8'));
const FWD_LEN = Number(arg('fwd-len', String(P_LEN)));

/** Deterministic token ids in [1000, 30000) (the values do not change the cost). */
function ids(n: number, seed: number): Int32Array {
  const r = new Rng(seed);
  return Int32Array.from({ length: n }, () => 1000 + r.int(29000));
}

/** BATCH triples (groups of 2) of full-length rows. */
function benchBatch(): GroupBatch {
  const full = (n: number) => new Int32Array(n).fill(1);
  const part = (len: number, seed: number) => ({ rows: BATCH, len, ids: ids(BATCH * len, seed), mask: full(BATCH * len) });
  const teacher = [Array.from({ length: BATCH }, (_, i) => Math.sin(i)), Array.from({ length: BATCH }, (_, i) => Math.cos(i))];
  return collateGroups(part(Q_LEN, 1), [part(P_LEN, 2), part(P_LEN, 3)], teacher);
}

/** Median seconds of `repeats` runs of `fn`, after a warm-up unless `warm` is false. */
async function time(fn: () => Promise<void>, repeats: number, warm: boolean): Promise<number> {
  if (warm) await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function trainStepSeconds(repeats: number, warm: boolean): Promise<number> {
  const model = DistilBert.random(TINY, 1);
  const adam = new Adam(model.weights);
  const student = bertDotStudent(model);
  const batch = benchBatch();
  // The trainer's own step (train/step.ts); it reads the loss asynchronously, which ends the step's work.
  const step = async () => {
    const { grads } = await stepGradients(student, lossTerms('margin-mse'), batch, 1);
    adam.apply(grads, 1e-5);
    tf.dispose([...grads.values()]);
  };
  const before = tf.memory().numTensors;
  try {
    return await time(step, repeats, warm);
  } finally {
    model.dispose();
    adam.dispose();
    const leaked = tf.memory().numTensors - before;
    if (leaked > 0) console.warn(`warning: ${leaked} tensors left after the training step bench`);
  }
}

async function forwardSeconds(repeats: number, warm: boolean): Promise<number> {
  const model = DistilBert.random(DISTILBERT_BASE, 2);
  const x = tf.tensor2d(ids(FWD_ROWS * FWD_LEN, 4), [FWD_ROWS, FWD_LEN], 'int32');
  const mask = tf.onesLike(x) as tf.Tensor2D;
  try {
    const forward = async () => {
      const cls = tf.tidy(() => model.encode(x, mask)); // [rows, dim]
      await cls.data();
      cls.dispose();
    };
    return await time(forward, repeats, warm);
  } finally {
    tf.dispose([x, mask]);
    model.dispose();
  }
}

/**
 * The same forward on ONNX Runtime (CPU provider), from the same random weights (seed 2), with spin-waiting on
 * (ONNX Runtime's default) and off (idle threads yield the cores: better when other processes share them).
 */
async function onnxRows(repeats: number, parts: string[]): Promise<Row[]> {
  if (!parts.includes('forward')) return [];
  await initBackend('cpu', { quiet: true }); // only to draw the weights as DistilBert.random does
  const model = DistilBert.random(DISTILBERT_BASE, 2);
  const weights = await hostWeights(model.weights);
  model.dispose();
  const input = ids(FWD_ROWS * FWD_LEN, 4);
  const mask = new Int32Array(input.length).fill(1);
  const rows: Row[] = [];
  for (const spinning of [true, false]) {
    const onnx = await OnnxBertDot.create(DISTILBERT_BASE, weights, { threads: processThreads(), provider: 'cpu', spinning });
    process.stderr.write(`${onnx.onnx.describe()}: forward...\n`);
    try {
      const forwardS = await time(async () => void (await onnx.encode(input, mask, FWD_ROWS)), repeats, true);
      rows.push({ backend: spinning ? 'onnx' : 'onnx-nospin', trainStepS: null, forwardS, note: `${onnx.onnx.describe()}; forward only` });
    } finally {
      await onnx.dispose();
    }
  }
  return rows;
}

/** `slowRepeats` (and no warm-up) on cpu and on a software webgpu adapter: minutes per DistilBERT-size forward. */
async function tfjsRow(backend: Exclude<BackendChoice, 'auto'>, repeats: number, slowRepeats: number, parts: string[]): Promise<Row> {
  let note: string;
  try {
    note = (await initBackend(backend, { quiet: true })).reasons[0].replace(/^using \w+: /, '');
  } catch (err) {
    return { backend, trainStepS: null, forwardS: null, note: (err as Error).message.split('\n').slice(1).join('; ').trim() };
  }
  const slow = backend === 'cpu' || (backend === 'webgpu' && note.includes('software'));
  const n = slow ? slowRepeats : repeats;
  process.stderr.write(`${backend}: ${parts.join(', ')}...\n`);
  const trainStepS = parts.includes('train') ? await trainStepSeconds(n, !slow) : null;
  const forwardS = parts.includes('forward') ? await forwardSeconds(n, !slow) : null;
  return { backend, trainStepS, forwardS, note };
}

/** A python3 that imports torch (pyenv shims often hide Debian's), or null. */
function torchPython(): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}

function torchRows(repeats: number): Row[] {
  const py = torchPython();
  if (py == null) return [{ backend: 'pytorch', trainStepS: null, forwardS: null, note: 'no python3 with torch here (Debian: apt-get install python3-torch libopenblas0-pthread)' }];
  const rows: Row[] = [];
  for (const threads of [...new Set([1, os.cpus().length])]) {
    process.stderr.write(`pytorch ${threads} thread(s)...\n`);
    const args = ['--threads', String(threads), '--repeats', String(repeats), '--fwd-rows', String(FWD_ROWS), '--fwd-len', String(FWD_LEN)];
    const r = spawnSync(py, [path.join(ROOT, 'bench', 'torch_model.py'), ...args], { encoding: 'utf8' });
    const label = `pytorch-${threads}t`;
    if (r.status !== 0) {
      rows.push({ backend: label, trainStepS: null, forwardS: null, note: `failed: ${r.stderr.trim().split('\n').pop()}` });
      continue;
    }
    const j = JSON.parse(r.stdout) as { torch: string; threads: number; train_step_s: number; forward_s: number };
    rows.push({ backend: label, trainStepS: j.train_step_s, forwardS: j.forward_s, note: `torch ${j.torch}, ${j.threads} thread(s), ${py}` });
  }
  return rows;
}

const fmt = (v: number | null, digits = 2) => (v == null ? '-' : v.toFixed(digits));
const ratio = (a: number | null, b: number | null) => (a == null || b == null ? null : a / b);

async function main(): Promise<void> {
  const repeats = Number(arg('repeats', '3'));
  const slowRepeats = Number(arg('slow-repeats', '1'));
  const parts = arg('parts', 'train,forward').split(',');
  const requested = arg('backends', 'onnx,wasm,cpu,webgpu').split(',') as (Exclude<BackendChoice, 'auto'> | 'onnx')[];
  const loadBefore = os.loadavg()[0];
  const rows: Row[] = [...torchRows(repeats)];
  for (const b of requested) {
    if (b === 'onnx') rows.push(...(await onnxRows(repeats, parts)));
    else rows.push(await tfjsRow(b, repeats, slowRepeats, parts));
  }
  const torch1 = rows.find((r) => r.backend === 'pytorch-1t');
  const torchN = rows.find((r) => r.backend.startsWith('pytorch-') && r !== torch1) ?? torch1;
  // PyTorch's best forward in this run (its faster thread count): the yardstick for the onnx row.
  const torchFwd = rows.filter((r) => r.backend.startsWith('pytorch-') && r.forwardS != null).sort((a, b) => a.forwardS! - b.forwardS!)[0];

  const head = ['backend', 'train step s', 'forward s', 'train / torch-1t', 'fwd / torch-1t', `train / ${torchN?.backend ?? 'torch'}`, `fwd / ${torchN?.backend ?? 'torch'}`, 'fwd / torch best'];
  const table = rows.map((r) => [
    r.backend,
    fmt(r.trainStepS),
    fmt(r.forwardS),
    fmt(ratio(r.trainStepS, torch1?.trainStepS ?? null), 1),
    fmt(ratio(r.forwardS, torch1?.forwardS ?? null), 1),
    fmt(ratio(r.trainStepS, torchN?.trainStepS ?? null), 1),
    fmt(ratio(r.forwardS, torchN?.forwardS ?? null), 1),
    fmt(ratio(r.forwardS, torchFwd?.forwardS ?? null), 2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  console.log(`tiny student Margin-MSE step (batch ${BATCH}, q ${Q_LEN} / p ${P_LEN}) and DistilBERT-size forward (${FWD_ROWS} x ${FWD_LEN})`);
  console.log(`${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after`);
  console.log(line(head));
  for (const row of table) console.log(line(row));
  for (const r of rows) console.log(`  ${r.backend}: ${r.note}`);
  await writeJsonAtomic(path.join(ROOT, 'bench', 'out', 'model.json'), {
    date: new Date().toISOString(),
    cores: os.cpus().length,
    loadAverage: { before: loadBefore, after: os.loadavg()[0] },
    shapes: { tiny: TINY, batch: BATCH, qLen: Q_LEN, pLen: P_LEN, forward: { config: DISTILBERT_BASE, rows: FWD_ROWS, len: FWD_LEN } },
    rows: rows.map((r) => ({
      ...r,
      trainVsTorch1t: ratio(r.trainStepS, torch1?.trainStepS ?? null),
      forwardVsTorch1t: ratio(r.forwardS, torch1?.forwardS ?? null),
      forwardVsTorchBest: ratio(r.forwardS, torchFwd?.forwardS ?? null),
    })),
  });
}

await main();
