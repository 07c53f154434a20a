import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { applySets, parseConfig } from '../common/config.js';
import { generate } from '../quickstart/generate.js';
import { Config } from './config.js';
import { train } from './train.js';

const TINY_MODEL = { dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64, max_position_embeddings: 64 };

describe('train.recompute through train() on cpu', () => {
  let f: Awaited<ReturnType<typeof generate>>;
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'trainer-recompute-'));
    f = await generate(path.join(dir, 'data'), { topics: 12, passagesPerTopic: 2, extraPassages: 5, trainQueries: 16, devQueries: 2, valQueries: 2, bm25Depth: 5, triplesPerQuery: 2 });
  });

  it("'layers' gives the losses of 'none' within 1e-6 relative, step after step", async () => {
    const losses = async (recompute: string) => {
      const sets = [
        `data.collection=${f.collection}`, `data.queries=${f.queriesTrain}`, `data.triples=${f.trainScores}`, `data.cache_dir=${dir}/cache`,
        'data.query_max_length=12', 'data.passage_max_length=24', 'train.validation.every=0',
        // A high rate, so a gradient that differed would show in the next step's loss.
        'train.batch_size=4', 'train.lr=1e-2', 'train.max_steps=4', `train.recompute=${recompute}`,
        `run.out_dir=${dir}/runs`, `run.name=${recompute}`, 'run.backend=cpu',
      ];
      const config = parseConfig(Config, { ...(applySets({}, sets) as object), model: TINY_MODEL }, 'test');
      const out: number[] = [];
      const kernels = vi.spyOn(tf.engine(), 'runKernel');
      await train(config, { log: () => {}, hooks: { stepEnd: ({ loss }) => void out.push(loss) } });
      const calls = kernels.mock.calls.length;
      kernels.mockRestore();
      return { losses: out, kernels: calls };
    };
    const { losses: none, kernels: noneKernels } = await losses('none');
    const { losses: layers, kernels: layersKernels } = await losses('layers');
    // The setting reached the student: each block's forward runs again in the backward.
    expect(layersKernels).toBeGreaterThan(noneKernels + 100);
    expect(none).toHaveLength(4);
    expect(new Set(none).size).toBe(4); // the student moves: each step's loss is new
    layers.forEach((l, i) => expect(Math.abs(l - none[i])).toBeLessThanOrEqual(1e-6 * Math.abs(none[i])));
  });

  it('an unknown recompute mode is a config error naming the key and the choices', () => {
    expect(() => parseConfig(Config, applySets({}, ['train.recompute=blocks']), 'test')).toThrow(/'train\.recompute'.*"none"\|"layers"|'train\.recompute'.*none.*layers/);
  });
});
