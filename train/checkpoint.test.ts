import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { testBackend } from '../models/engine/testing.js';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { LoopState } from './state.js';

testBackend();

const loop = (step: number): LoopState => ({ step, triples: step * 4, skipped: 0, lrScale: 1, best: null, badValidations: 0, plateauBad: 0, finished: null });

function parts(step: number, weights: Map<string, tf.Tensor>) {
  const m = new Map([...weights].map(([k, t]) => [k, tf.mul(t, 0.5)]));
  const v = new Map([...weights].map(([k, t]) => [k, tf.square(t)]));
  return { weights, modelConfig: { dim: 2 }, adam: { step, m, v }, state: { loop: loop(step), adamStep: step, cursor: { index: step }, rng: { seed: 9 } } };
}

describe('checkpoints', () => {
  it('round-trips weights, optimizer state, cursor and loop state; keeps the newest N', async () => {
    const runDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ckpt-'));
    const w = new Map<string, tf.Tensor>([['a.weight', tf.tensor2d([[1.5, -2], [3, 1e-7]])], ['b.bias', tf.tensor1d([0.25])]]);
    for (const step of [2, 4, 6]) await saveCheckpoint(runDir, parts(step, w), 2);
    expect((await fsp.readdir(runDir)).sort()).toEqual(['step-00000004', 'step-00000006']);
    const c = await loadCheckpoint((await latestCheckpoint(runDir))!);
    expect(c.state.loop.step).toBe(6);
    expect(c.state.cursor).toEqual({ index: 6 });
    expect(c.state.rng).toEqual({ seed: 9 });
    expect(c.adam.step).toBe(6);
    expect(c.modelConfig).toEqual({ dim: 2 });
    expect(Array.from(c.weights.get('a.weight')!.dataSync())).toEqual(Array.from(w.get('a.weight')!.dataSync()));
    expect(Array.from(c.adam.v.get('a.weight')!.dataSync())).toEqual(Array.from(tf.square(w.get('a.weight')!).dataSync()));
    expect(c.weights.get('a.weight')!.shape).toEqual([2, 2]);
  });

  it('a torn write is never loaded: a crash while filling, a truncated file, a leftover temp folder', async () => {
    const runDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ckpt-'));
    const w = new Map<string, tf.Tensor>([['a.weight', tf.tensor1d([1, 2, 3])]]);
    await saveCheckpoint(runDir, parts(3, w), 5);

    // 1. The writer dies while filling (here: a tensor it cannot write): no step-00000006 appears.
    const bad = new Map<string, tf.Tensor>([['a.weight', tf.tensor1d([true], 'bool')]]);
    await expect(saveCheckpoint(runDir, parts(6, bad), 5)).rejects.toThrow();
    expect(await fsp.readdir(runDir)).toEqual(['step-00000003']);

    // 2. A checkpoint folder whose weights were cut short (a copy or disk gone wrong) is passed over.
    await fsp.cp(path.join(runDir, 'step-00000003'), path.join(runDir, 'step-00000009'), { recursive: true });
    const f = path.join(runDir, 'step-00000009', 'model.safetensors');
    const bytes = await fsp.readFile(f);
    await fsp.writeFile(f, bytes.subarray(0, bytes.length - 4));
    // 3. A killed writer's temp folder, and a step folder without state.json.
    await fsp.mkdir(path.join(runDir, '.step-00000012.tmp-123-456'));
    await fsp.writeFile(path.join(runDir, '.step-00000012.tmp-123-456', 'model.safetensors'), 'partial');
    await fsp.mkdir(path.join(runDir, 'step-00000015'));

    const warnings: string[] = [];
    expect(await latestCheckpoint(runDir, (m) => warnings.push(m))).toBe(path.join(runDir, 'step-00000003'));
    expect(warnings.join('\n')).toMatch(/step-00000015 skipped: state\.json unreadable/);
    expect(warnings.join('\n')).toMatch(/step-00000009 skipped: model\.safetensors does not match its hash/);
    await expect(loadCheckpoint(path.join(runDir, 'step-00000009'))).rejects.toThrow(/cannot be loaded/);
  });

  it('an empty or missing run folder has no latest checkpoint', async () => {
    expect(await latestCheckpoint(path.join(os.tmpdir(), 'no-such-run-folder-x'))).toBeNull();
  });
});

describe('checkpoints after a crash mid-swap', () => {
  it('a step folder left under its backup name by a crash between renames is put back and loaded', async () => {
    const runDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ckpt-'));
    const w = new Map<string, tf.Tensor>([['a.weight', tf.tensor1d([1, 2, 3])]]);
    await saveCheckpoint(runDir, parts(2, w), 1);
    await fsp.rename(path.join(runDir, 'step-00000002'), path.join(runDir, '.step-00000002.previous'));
    expect(await latestCheckpoint(runDir)).toBe(path.join(runDir, 'step-00000002'));
    expect((await loadCheckpoint(path.join(runDir, 'step-00000002'))).state.loop.step).toBe(2);
    expect(await fsp.readdir(runDir)).toEqual(['step-00000002']);
  });
});
