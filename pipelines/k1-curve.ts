/**
 * The K = 1 regression run (pipelines/k1-curve.test.ts): 50 Margin-MSE steps of a tiny random DistilBERT on
 * cpu over a small generated triple file, through `train()` as `margin-mse train` runs it (prepare → batcher
 * → loop), with a metrics row every step. `k1-curve.fixture.json` holds the per-step losses this made on main
 * before the trainer learned groups (commit message of that fixture); the test runs it again on today's code.
 * Record: tsx pipelines/k1-curve.ts [OUT.json]
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../common/config.js';
import { readMetrics } from '../train/metrics.js';
import { generate } from '../quickstart/generate.js';
import { Config } from './config.js';
import { train } from './train.js';

export const CURVE_STEPS = 50;
const SMALL = { seed: 5, topics: 40, passagesPerTopic: 2, extraPassages: 20, trainQueries: 160, devQueries: 10, valQueries: 10, bm25Depth: 10, triplesPerQuery: 4 };

/** Per-step training losses of the regression run with `accumulation` micro-batches per step. */
export async function k1Curve(accumulation: number): Promise<number[]> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'k1-curve-'));
  try {
    const f = await generate(path.join(dir, 'data'), SMALL);
    const config = parseConfig(
      Config,
      {
        run: { name: 'k1', out_dir: dir, seed: 3, backend: 'cpu' },
        model: { init: null, dim: 16, n_layers: 2, n_heads: 2, hidden_dim: 32, max_position_embeddings: 32 },
        data: {
          collection: f.collection, queries: f.queriesTrain, triples: f.trainScores, triples_format: 'ids-scores',
          cache_dir: path.join(dir, 'cache'), query_max_length: 12, passage_max_length: 24, shuffle_buffer: 100, prefetch: 1,
        },
        train: { loss: 'margin-mse', batch_size: 8, accumulation_steps: accumulation, lr: 1e-3, max_steps: CURVE_STEPS, log_every: 1, checkpoint_every: 1000, validation: { every: 0 } },
      },
      'k1-curve',
    );
    await train(config, { log: () => {} });
    return (await readMetrics(path.join(dir, 'k1', 'metrics.jsonl'))).flatMap((r) => (r.loss === undefined ? [] : [r.loss]));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('k1-curve.ts')) {
  const out = process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), 'k1-curve.fixture.json');
  const curves = { accumulation_1: await k1Curve(1), accumulation_2: await k1Curve(2) };
  await fsp.writeFile(out, `${JSON.stringify(curves, null, 1)}\n`);
  process.stderr.write(`wrote ${out}\n`);
}
