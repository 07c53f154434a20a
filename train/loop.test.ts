import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';
import { evaluate } from '../eval/measures.js';
import { rerank } from '../eval/rerank.js';
import { testBackend } from '../models/engine/testing.js';
import { type Checkpoint, latestCheckpoint, loadCheckpoint } from './checkpoint.js';
import { TrainConfig } from './config.js';
import { LossConfig, lossTerms } from './loss-terms.js';
import { runLoop } from './loop.js';
import { NonFiniteError } from './nonfinite.js';
import { readMetrics } from './metrics.js';
import { stepGradients } from './step.js';
import { TinyStudent, generatedBatch, generatedSource, validationSet } from './testing.js';

testBackend();

const tmp = () => fsp.mkdtemp(path.join(os.tmpdir(), 'train-loop-'));
const quiet = { showProgress: false, log: () => {} };

describe('training loop', () => {
  it('a tiny student on generated data: Margin-MSE falls, validation MRR@10 rises, run folder complete', async () => {
    const runDir = await tmp();
    const student = new TinyStudent(11);
    const val = validationSet(5);
    const validate = async () => {
      const run = await rerank(student, val.tokenizer, val.queries, val.passages, val.run, { queryMaxLength: 16, passageMaxLength: 16, batchSize: 64 });
      return evaluate(val.qrels, run, { measures: ['mrr@10'] }).measures['mrr@10'].all;
    };
    const before = await validate();
    const tensors = tf.memory().numTensors;
    const config = TrainConfig.parse({ lr: 0.01, max_steps: 120, log_every: 10, checkpoint_every: 50, validation: { every: 30, measure: 'mrr@10' } });
    const summary = await runLoop({ student, source: generatedSource({ seed: 1, size: 16, batches: 1000 }), config, runDir, seed: 1, hooks: { validate }, ...quiet });
    expect(tf.memory().numTensors).toBe(tensors); // nothing leaks over 120 steps

    const rows = await readMetrics(path.join(runDir, 'metrics.jsonl'));
    const losses = rows.filter((r) => r.loss !== undefined).map((r) => r.loss!);
    const vals = rows.filter((r) => r.validation).map((r) => r.validation!['mrr@10']);
    expect(losses).toHaveLength(12);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 4);
    expect(vals).toHaveLength(4);
    expect(Math.max(...vals)).toBeGreaterThan(before + 0.3);
    expect(summary).toMatchObject({ status: 'finished', reason: 'max_steps', steps: 120, triples: 1920, skipped: 0 });
    expect(summary.best!.value).toBe(Math.max(...vals));
    expect(JSON.parse(await fsp.readFile(path.join(runDir, 'best', 'best.json'), 'utf8'))).toMatchObject({ measure: 'mrr@10', value: summary.best!.value });
    const files = await fsp.readdir(runDir);
    expect(files).toEqual(expect.arrayContaining(['summary.json', 'curves.png', 'curves.svg', 'best', 'step-00000100', 'step-00000120']));
    expect(files).not.toContain('step-00000050'); // keep_checkpoints: 2
    expect(await latestCheckpoint(runDir)).toBe(path.join(runDir, 'step-00000120'));
    student.dispose();
  });

  it('stops early after `patience` validations without improvement, not before min_steps', async () => {
    const runDir = await tmp();
    const student = new TinyStudent(3);
    const values = [0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4];
    let i = 0;
    const config = TrainConfig.parse({ lr: 1e-3, max_steps: 100, validation: { every: 2, patience: 2, min_steps: 10 } });
    const summary = await runLoop({ student, source: generatedSource({ seed: 2, size: 4, batches: 1000 }), config, runDir, seed: 1, hooks: { validate: async () => values[i++] }, ...quiet });
    // validations at 2 (best), 4, 6 (patience reached, but < min_steps), 8, 10 → stop at 10
    expect(summary).toMatchObject({ reason: 'early_stopping', steps: 10, best: { step: 2, value: 0.5 } });
    student.dispose();
  });

  it('gradient accumulation over micro-batches gives the full batch gradients and the same weights', async () => {
    const batch = generatedBatch(4, 0, 32);
    const student = new TinyStudent(5);
    const terms = lossTerms('margin-mse');
    const full = await stepGradients(student, terms, batch, 1);
    for (const micro of [4, 3]) {
      const acc = await stepGradients(student, terms, batch, micro);
      expect(acc.loss).toBeCloseTo(full.loss, 4);
      for (const [name, g] of full.grads) {
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(g, acc.grads.get(name)!))).dataSync()[0]);
        const scale = tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]);
        expect(diff).toBeLessThan(1e-5 * Math.max(scale, 1));
      }
      tf.dispose([...acc.grads.values()]);
    }
    tf.dispose([...full.grads.values()]);
    student.dispose();

    const weights = async (accumulation_steps: number) => {
      const s = new TinyStudent(5);
      const config = TrainConfig.parse({ lr: 0.01, max_steps: 5, accumulation_steps, validation: { every: 0 } });
      await runLoop({ student: s, source: generatedSource({ seed: 4, size: 32, batches: 10 }), config, runDir: await tmp(), seed: 1, ...quiet });
      const w = Array.from(s.params.get('emb.weight')!.dataSync());
      s.dispose();
      return w;
    };
    const fresh = new TinyStudent(5);
    const initial = Array.from(fresh.params.get('emb.weight')!.dataSync());
    fresh.dispose();
    const [a, b] = [await weights(1), await weights(4)];
    const maxDiff = Math.max(...a.map((x, k) => Math.abs(x - b[k])));
    expect(maxDiff).toBeLessThan(1e-4);
    expect(Math.max(...a.map((x, k) => Math.abs(x - initial[k])))).toBeGreaterThan(1e-3); // they did train
  });

  it('a weighted mix over groups of 1 + 3: metrics rows, the progress line and the curves show each term', async () => {
    const runDir = await tmp();
    const student = new TinyStudent(7);
    const loss = LossConfig.parse([{ name: 'margin-mse' }, { name: 'in-batch', weight: 0.5 }, { name: 'kl', tau: 2, weight: 2 }]);
    const config = TrainConfig.parse({ lr: 0.01, max_steps: 20, log_every: 5, accumulation_steps: 2, loss, validation: { every: 0 } });
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    try {
      await runLoop({ student, source: generatedSource({ seed: 6, size: 8, batches: 100, negatives: 3 }), config, runDir, seed: 1, log: () => {} });
    } finally {
      spy.mockRestore();
    }
    const rows = (await readMetrics(path.join(runDir, 'metrics.jsonl'))).filter((r) => r.loss !== undefined);
    expect(rows.map((r) => r.step)).toEqual([5, 10, 15, 20]);
    for (const r of rows) {
      expect(Object.keys(r.terms!)).toEqual(['margin_mse', 'in_batch_scale1', 'kl_tau2']);
      const t = r.terms!;
      expect(r.loss).toBeCloseTo(t.margin_mse + 0.5 * t.in_batch_scale1 + 2 * t.kl_tau2, 4);
    }
    expect(rows[3].terms!.margin_mse).toBeLessThan(rows[0].terms!.margin_mse);
    expect(written.join('')).toMatch(/train: 20\/20 step .*\| loss \d+\.\d{4} \| margin_mse \d+\.\d{4} \| in_batch_scale1 \d+\.\d{4} \| kl_tau2 \d+\.\d{4} \| triples\/s/);
    expect(await fsp.readFile(path.join(runDir, 'curves.svg'), 'utf8')).toContain('loss terms (unweighted)');
    student.dispose();
  });

  it('a non-finite loss stops the run with a clear message and leaves the last good checkpoint', async () => {
    const runDir = await tmp();
    const student = new TinyStudent(5);
    const config = TrainConfig.parse({ lr: 0.01, max_steps: 20, checkpoint_every: 5, validation: { every: 0 } });
    const run = runLoop({ student, source: generatedSource({ seed: 4, size: 4, batches: 50, poison: new Set([7]) }), config, runDir, seed: 1, ...quiet });
    await expect(run).rejects.toThrow(NonFiniteError);
    await expect(run).rejects.toThrow(/step 8: non-finite loss \(Infinity\).*Last good checkpoint: .*step-00000005/);
    expect(await latestCheckpoint(runDir)).toBe(path.join(runDir, 'step-00000005'));
    await expect(fsp.stat(path.join(runDir, 'summary.json'))).rejects.toThrow();
    student.dispose();
  });

  it('with on_nonfinite: skip, bad batches are skipped and counted; the weights stay finite', async () => {
    const runDir = await tmp();
    const student = new TinyStudent(5);
    const config = TrainConfig.parse({ lr: 0.01, on_nonfinite: 'skip', validation: { every: 0 } });
    const summary = await runLoop({ student, source: generatedSource({ seed: 4, size: 4, batches: 12, poison: new Set([3, 7]) }), config, runDir, seed: 1, ...quiet });
    expect(summary).toMatchObject({ reason: 'end_of_data', steps: 10, skipped: 2, triples: 48 });
    for (const p of student.params.values()) expect(p.dataSync().every(Number.isFinite)).toBe(true);
    student.dispose();
    const tooMany = TrainConfig.parse({ lr: 0.01, on_nonfinite: 'skip', max_nonfinite: 1, validation: { every: 0 } });
    const s2 = new TinyStudent(5);
    await expect(runLoop({ student: s2, source: generatedSource({ seed: 4, size: 4, batches: 12, poison: new Set([3, 7]) }), config: tooMany, runDir: await tmp(), seed: 1, ...quiet })).rejects.toThrow(/2 batches skipped/);
    s2.dispose();
  });

  it('a checkpoint that does not fit the student is refused, naming the file, with nothing leaked', async () => {
    const runDir = await tmp();
    const student = new TinyStudent(5);
    const config = TrainConfig.parse({ lr: 0.01, max_steps: 2, checkpoint_every: 2, validation: { every: 0 } });
    await runLoop({ student, source: generatedSource({ seed: 4, size: 4, batches: 4 }), config, runDir, seed: 1, ...quiet });
    const dir = (await latestCheckpoint(runDir))!;
    const tensors = tf.memory().numTensors;
    // `edit` returns the tensor it took out of the checkpoint (disposed here with the rest).
    const resumeWith = async (edit: (c: Checkpoint) => tf.Tensor | undefined) => {
      const c = await loadCheckpoint(dir);
      const removed = edit(c);
      removed?.dispose();
      const run = runLoop({ student, source: generatedSource({ seed: 4, size: 4, batches: 4 }, c.state.cursor), config, runDir, seed: 1, resume: c, ...quiet });
      await run.catch(() => {});
      tf.dispose([...c.weights.values(), ...c.adam.m.values(), ...c.adam.v.values()]);
      return run;
    };
    const take = (m: Map<string, tf.Tensor>, name: string) => {
      const t = m.get(name);
      m.delete(name);
      return t;
    };
    await expect(resumeWith((c) => take(c.weights, 'dense.bias'))).rejects.toThrow(`${dir}/model.safetensors: expected a tensor 'dense.bias'`);
    await expect(resumeWith((c) => {
      const t = take(c.weights, 'dense.bias');
      c.weights.set('dense.bias', tf.zeros([3]));
      return t;
    })).rejects.toThrow(`${dir}/model.safetensors: expected 'dense.bias' of shape [16], got [3]`);
    await expect(resumeWith((c) => take(c.adam.v, 'emb.weight'))).rejects.toThrow(`${dir}/optimizer.safetensors: expected Adam moments`);
    expect(tf.memory().numTensors).toBe(tensors);
    student.dispose();
  });
});
