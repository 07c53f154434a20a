import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../common/paths.js';
import { tempFiles } from '../common/testing.js';
import { generate } from '../quickstart/generate.js';

const run = promisify(execFile);
const tmp = tempFiles('memory-plan-cli-');

/** `margin-mse ARGS` as a child process: exit code, stdout, stderr. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, 'bin', 'margin-mse.js'), ...args], { cwd: tmp.dir, maxBuffer: 16 * 2 ** 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/**
 * A tiny student whose activations outgrow its gradients at the batch size (64 triples of 64-token
 * passages), so accumulation pays off; cpu, whose probes are exact and quick.
 */
const CONFIG = `
run: {backend: cpu, out_dir: runs, name: r}
model: {dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64, max_position_embeddings: 64}
data: {query_max_length: 16, passage_max_length: 64, cache_dir: cache}
train: {batch_size: 64, max_steps: 1, log_every: 1, validation: {every: 0}}
`;
const MiB = 2 ** 20;

describe('margin-mse train plan and accumulation_steps: auto', () => {
  let config: string;
  let plan: {
    measure: string;
    backend: string;
    probes: unknown[];
    split: Record<string, number>;
    options: { accumulation: number; microBatch: number; gradients: number; activations: number; peak: number }[];
    choice: unknown;
  };
  let between: string; // a memory size that the second option fits and the first does not

  beforeAll(async () => {
    config = tmp(CONFIG, 'tiny.yaml');
    const r = await cli('train', 'plan', '--config', config, '--json');
    expect(r.stderr).toMatch(/^memory probe 1\/4: 1 layer, batch 2, cpu \.\.\.$/m);
    expect(r.code).toBe(0);
    plan = JSON.parse(r.stdout);
    const [one, two] = plan.options;
    between = `${Math.floor((one.peak + two.peak) / 2 / MiB * 10) / 10}MiB`;
  });

  it('--json: the measured split and the peak of every accumulation that divides the batch', () => {
    expect(plan).toMatchObject({ backend: 'cpu', measure: 'cpu-arrays', choice: null });
    expect(plan.probes).toHaveLength(4);
    // 2 layers of dim 32 + the [30522, 32] and [64, 32] tables and the embedding LayerNorm, float32; Adam twice that
    const params = 30522 * 32 + 64 * 32 + 2 * 32 + 2 * (4 * (32 * 32 + 32) + 2 * 32 + 32 * 64 + 64 + 64 * 32 + 32 + 2 * 32);
    expect(plan.split.weights).toBeCloseTo(params * 4, -2);
    expect(plan.split.adam).toBeCloseTo(2 * params * 4, -2);
    expect(plan.options.map((o) => o.accumulation)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    for (const o of plan.options) {
      const accumulated = o.accumulation > 1 ? plan.split.accumulated : 0;
      expect(o.peak).toBeCloseTo(plan.split.weights + plan.split.adam + accumulated + Math.max(o.gradients, o.activations), -1);
    }
    expect(plan.options[1].peak).toBeLessThan(plan.options[0].peak); // the case `auto` exists for
  });

  it('text: the split, the table, and the accumulation that fits --memory', async () => {
    const r = await cli('train', 'plan', '--config', config, '--memory', between);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/memory probe 4\/4: peak [\d.]+ [KM]iB \(cpu, cpu-arrays\)/);
    expect(r.stdout).toMatch(/^memory plan: DistilBERT 2 layers, dim 32, 4 heads, FFN 64, vocab 30522; batch 64, query 16 \/ passage 64 tokens \(full length\), recompute none$/m);
    for (const row of ['weights', 'Adam state', 'accumulated gradients', 'gradients', 'activations']) expect(r.stdout).toMatch(new RegExp(`^  ${row} +[\\d.]+ (B|KiB|MiB)`, 'm'));
    expect(r.stdout).toMatch(/^ +2 +32 +[\d.]+ [KM]iB +[\d.]+ [KM]iB +[\d.]+ [KM]iB  <- fits$/m);
    expect(r.stdout).toMatch(/^accumulation_steps 2 \(micro-batches of 32\): predicted peak [\d.]+ MiB <= [\d.]+ MiB .*; 1 would need [\d.]+ MiB \[cpu, cpu-arrays\]$/m);
  });

  // Training data for the runs below: a run checks and prepares its inputs before it plans.
  let dataSets: string[];
  const withData = async () => {
    if (!dataSets) {
      const data = await generate(path.join(tmp.dir, 'data'), { topics: 20, passagesPerTopic: 2, extraPassages: 10, trainQueries: 40, devQueries: 2, valQueries: 2, bm25Depth: 5, triplesPerQuery: 2 });
      dataSets = ['--set', `data.collection=${data.collection}`, '--set', `data.queries=${data.queriesTrain}`, '--set', `data.triples=${data.trainScores}`];
    }
    return dataSets;
  };

  it('a run with auto prints what it chose and trains with it', async () => {
    const r = await cli('train', '--config', config, '--set', 'train.accumulation_steps=auto', '--set', `run.device_memory=${between}`, '--set', 'run.name=auto', ...(await withData()));
    expect(r.stderr).toMatch(/^train\.accumulation_steps auto: accumulation_steps 2 \(micro-batches of 32\): predicted peak [\d.]+ MiB <= [\d.]+ MiB/m);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ steps: 1, triples: 64 });
  });

  it('a run that does not fit says so with the numbers before the first step, and exits 1', async () => {
    const r = await cli('train', '--config', config, '--set', 'train.accumulation_steps=auto', '--set', 'run.device_memory=4MiB', '--set', 'run.name=small', ...(await withData()));
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => !l.startsWith('memory probe') && l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^margin-mse: train\.accumulation_steps auto: the step does not fit 4 MiB at any accumulation_steps dividing the batch of 64: the lowest predicted peak is [\d.]+ MiB at \d+ \(micro-batches of \d+; weights [\d.]+ MiB \+ Adam/);
    expect(existsSync(path.join(tmp.dir, 'runs', 'small', 'metrics.jsonl'))).toBe(false);
  });

  it('a step the plan does not measure (K > 1 negatives, an in-batch term) is refused in one line, not planned too small', async () => {
    const inBatch = await cli('train', 'plan', '--config', config, '--set', 'train.loss=[{name: margin-mse}, {name: in-batch}]');
    expect(inBatch).toMatchObject({ code: 1, stdout: '' });
    expect(inBatch.stderr.trim()).toBe('margin-mse: the memory plan measures steps of triples (1 negative) with pairwise losses; this config has an in-batch loss term: set train.accumulation_steps to a number');
    const groups = await cli('train', 'plan', '--config', config, '--set', 'data.groups={source: jsonl, file: g.jsonl, negatives: 4}');
    expect(groups.stderr.trim()).toMatch(/this config has data\.groups with 4 negatives per query: set train\.accumulation_steps to a number$/);
  });

  it('auto without run.device_memory, and a bad memory size, are one line naming the key or flag', async () => {
    const auto = await cli('train', 'plan', '--config', config, '--set', 'train.accumulation_steps=auto');
    expect(auto.code).toBe(1);
    expect(auto.stderr.trim()).toMatch(/^margin-mse: .*tiny\.yaml: invalid config:\n  'train\.accumulation_steps': auto needs run\.device_memory \(a size such as 11GiB, 11GB or 11000MiB\) to plan for$/);
    const flag = await cli('train', 'plan', '--config', config, '--memory', '11 gigs');
    expect(flag).toMatchObject({ code: 1, stdout: '' });
    expect(flag.stderr.trim()).toBe('margin-mse: --memory 11 gigs: expected a size such as 11GiB, 11GB or 11000MiB');
    const key = await cli('train', 'plan', '--config', config, '--set', 'run.device_memory=11XB');
    expect(key.stderr.trim()).toMatch(/'run\.device_memory': expected a size such as 11GiB/);
  });
});
