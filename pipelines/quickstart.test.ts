import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applySets, loadConfig } from '../common/config.js';
import { ROOT } from '../common/paths.js';
import { Config } from './config.js';
import { ensureDataset } from '../quickstart/dataset.js';
import { datasetFiles, DEFAULT_GENERATE } from '../quickstart/generate.js';
import { datasetSets } from './quickstart.js';

// The fast parts of the quickstart; the whole pipeline runs in quickstart-e2e.test.ts (LONG).
describe('quickstart wiring', () => {
  it('points the quickstart config at the generated files, whatever characters the folder has', async () => {
    const out = '/tmp/odd dir: #1';
    const f = datasetFiles(path.join(out, 'data'));
    const sets = datasetSets(out, f);
    expect(applySets({}, sets)).toMatchObject({
      data: { collection: f.collection, queries: f.queriesTrain, triples: f.trainScores, cache_dir: path.join(out, 'cache') },
      train: { validation: { queries: f.queriesVal, qrels: f.qrelsVal, candidates: f.bm25Val, collection: f.collection } },
      run: { out_dir: out, name: 'student' },
    });
    const config = await loadConfig(Config, path.join(ROOT, 'configs', 'quickstart.yaml'), sets);
    expect(config.model).toMatchObject({ dim: 64, n_layers: 2 });
    expect(config.train.loss).toBe('margin-mse');
  });

  it('reuses a dataset generated with the same options and regenerates for others', async () => {
    const dir = path.join(await fsp.mkdtemp(path.join(os.tmpdir(), 'qs-ds-')), 'data');
    const small = { ...DEFAULT_GENERATE, topics: 20, extraPassages: 10, trainQueries: 40, devQueries: 5, valQueries: 5, triplesPerQuery: 2 };
    expect((await ensureDataset(dir, small)).reused).toBe(false);
    const mtime = (await fsp.stat(path.join(dir, 'collection.tsv'))).mtimeMs;
    expect((await ensureDataset(dir, small)).reused).toBe(true);
    expect((await fsp.stat(path.join(dir, 'collection.tsv'))).mtimeMs).toBe(mtime);
    expect((await ensureDataset(dir, { ...small, seed: 7 })).reused).toBe(false);
  });
});
