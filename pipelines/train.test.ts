import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applySets, parseConfig } from '../common/config.js';
import { Config } from './config.js';
import { resolveVocab } from '../data/config.js';
import { lockCache } from '../data/prepare-lock.js';
import { loadDistilBert } from '../models/weights/hf.js';
import { generate } from '../quickstart/generate.js';
import { latestCheckpoint } from '../train/checkpoint.js';
import { exportRun, train } from './train.js';

/** A 2-layer dim-32 student (the `model` section, through the schema like the others). */
const TINY_MODEL = { dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64, max_position_embeddings: 64 };

describe('train() end to end on a generated MS MARCO-shaped dataset', () => {
  let f: Awaited<ReturnType<typeof generate>>;
  beforeAll(async () => {
    f = await generate(path.join(await fsp.mkdtemp(path.join(os.tmpdir(), 'trainer-data-')), 'data'), { topics: 20, passagesPerTopic: 2, extraPassages: 10, trainQueries: 30, devQueries: 5, valQueries: 5, bm25Depth: 10, triplesPerQuery: 2 });
  });

  it('prepares, trains a tiny DistilBERT BERT_Dot with validation, writes the run folder, refuses a second start, exports', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'trainer-'));
    const raw = applySets({}, [
      `data.collection=${f.collection}`, `data.queries=${f.queriesTrain}`, `data.triples=${f.trainScores}`, `data.cache_dir=${dir}/cache`,
      'data.query_max_length=12', 'data.passage_max_length=32',
      `train.validation.queries=${f.queriesVal}`, `train.validation.qrels=${f.qrelsVal}`, `train.validation.candidates=${f.bm25Val}`,
      `train.validation.collection=${f.collection}`, 'train.validation.every=2', 'train.validation.measure=mrr@10', 'train.validation.top_k=5',
      'train.batch_size=4', 'train.lr=1e-3', 'train.max_steps=2', 'train.log_every=1', 'train.checkpoint_every=2',
      `run.out_dir=${dir}/runs`, 'run.name=t', 'run.backend=cpu',
    ]);
    const config = parseConfig(Config, { ...(raw as object), model: TINY_MODEL }, 'test');
    const logs: string[] = [];
    const summary = await train(config, { command: 'margin-mse train test', log: (m) => logs.push(m) });
    expect(summary).toMatchObject({ reason: 'max_steps', steps: 2, triples: 8, best: { step: 2, measure: 'mrr@10' } });
    expect(logs.join('\n')).toMatch(/validation: 5 queries/);

    const runDir = path.join(dir, 'runs', 't');
    expect((await fsp.readdir(runDir)).sort()).toEqual(
      expect.arrayContaining(['best', 'command.txt', 'config.yaml', 'curves.png', 'metrics.jsonl', 'step-00000002', 'summary.json']),
    );
    expect(await fsp.readFile(path.join(runDir, 'command.txt'), 'utf8')).toBe('margin-mse train test\n');
    expect(await fsp.readFile(path.join(runDir, 'config.yaml'), 'utf8')).toMatch(/max_steps: 2/);
    expect(await latestCheckpoint(runDir)).toBe(path.join(runDir, 'step-00000002'));
    await expect(train(config, { log: () => {} })).rejects.toThrow(/already holds checkpoints \(step-00000002\): pass --resume/);

    const out = await exportRun(runDir, path.join(dir, 'export'));
    expect((await fsp.readdir(out)).sort()).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json']));
    const model = await loadDistilBert(out);
    expect(model.config).toMatchObject({ dim: 32, n_layers: 2, model_type: 'distilbert' });
    model.dispose();
  });

  // Triples with Margin-MSE, and groups of 1 + 3 from the teacher run with Margin-MSE + in-batch negatives (GradCache).
  const variants = {
    triples: () => [`data.triples=${f.trainScores}`],
    groups: () => [
      `data.groups={source: teacher-run, run: ${JSON.stringify(f.teacherRunTrain)}, qrels: ${JSON.stringify(f.qrelsTrain)}, negatives: 3, per_query: 2}`,
      'data.on_bad_line=skip', // this small collection leaves a few queries fewer than 3 negatives
      'train.loss=[{name: margin-mse}, {name: in-batch, weight: 0.5}]',
    ],
  };
  for (const [variant, extra] of Object.entries(variants)) {
    it(`resume with the real batcher and DistilBERT (${variant}): stopped after a checkpoint, resumed, same weights bit for bit`, async () => {
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'trainer-resume-'));
      const sets = (name: string) => [
        `data.collection=${f.collection}`, `data.queries=${f.queriesTrain}`, `data.cache_dir=${dir}/cache`, ...extra(),
        'data.query_max_length=12', 'data.passage_max_length=24', 'data.shuffle_buffer=16', 'train.validation.every=0',
        'train.batch_size=4', 'train.accumulation_steps=2', 'train.lr=1e-3', 'train.max_steps=4', 'train.checkpoint_every=2', 'train.log_every=2',
        `run.out_dir=${dir}/runs`, `run.name=${name}`, 'run.backend=cpu',
      ];
      const cfg = (name: string) => parseConfig(Config, { ...(applySets({}, sets(name)) as object), model: TINY_MODEL }, 'test');
      await train(cfg('whole'), { log: () => {} });

      // The process "dies" during step 3, after the checkpoint of step 2 (a real SIGKILL is train/resume.test.ts).
      const crash = { stepEnd: ({ step }: { step: number }) => { if (step === 3) throw new Error('killed'); } };
      await expect(train(cfg('cut'), { log: () => {}, hooks: crash })).rejects.toThrow('killed');
      expect(await latestCheckpoint(path.join(dir, 'runs', 'cut'))).toMatch(/step-00000002$/);
      // --resume reads the run folder's config.yaml (the model section there is the tiny one).
      const logs: string[] = [];
      const summary = await train(cfg('cut'), { resume: true, log: (m) => logs.push(m) });
      expect(logs.join('\n')).toMatch(/resumed from .*step-00000002 at step 2/);
      expect(summary).toMatchObject({ steps: 4, triples: 16 });
      for (const file of ['model.safetensors', 'optimizer.safetensors']) {
        const a = await fsp.readFile(path.join(dir, 'runs', 'whole', 'step-00000004', file));
        const b = await fsp.readFile(path.join(dir, 'runs', 'cut', 'step-00000004', file));
        expect(b.equals(a)).toBe(true);
      }
      const rows = (await fsp.readFile(path.join(dir, 'runs', 'cut', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(Object.keys(rows[0].terms)).toEqual(variant === 'groups' ? ['margin_mse', 'in_batch_scale1'] : ['margin_mse']);
    });
  }

  it('a run folder: best/ has vocab.txt, is locked while training, and --resume applies or refuses each override', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'trainer-folder-'));
    const sets = [
      `data.collection=${f.collection}`, `data.queries=${f.queriesTrain}`, `data.triples=${f.trainScores}`, `data.cache_dir=${dir}/cache`,
      'data.query_max_length=12', 'data.passage_max_length=24', `train.validation.queries=${f.queriesVal}`, `train.validation.qrels=${f.qrelsVal}`,
      `train.validation.candidates=${f.bm25Val}`, `train.validation.collection=${f.collection}`, 'train.validation.every=2',
      'train.batch_size=4', 'train.lr=1e-3', 'train.max_steps=2', 'train.checkpoint_every=2', `run.out_dir=${dir}/runs`, 'run.name=r', 'run.backend=cpu',
    ];
    const config = parseConfig(Config, { ...(applySets({}, sets) as object), model: TINY_MODEL }, 'test');
    const runDir = path.join(dir, 'runs', 'r');
    await train(config, { log: () => {} });
    // best/ works as an eval --model folder: its vocabulary is there.
    expect(await fsp.readFile(path.join(runDir, 'best', 'vocab.txt'), 'utf8')).toBe(await fsp.readFile(resolveVocab(config.data.vocab), 'utf8'));

    // Another process holds the folder: refused at once, naming it and the holder.
    const release = await lockCache(runDir);
    await expect(train(config, { resume: true, log: () => {} })).rejects.toThrow(`${runDir}: the run folder is in use by another train (pid ${process.pid} on `);
    await release();

    const resume = (more: string[], log: (m: string) => void = () => {}) => train(config, { resume: true, sets: [...sets, ...more], log });
    const yaml = path.join(runDir, 'config.yaml');
    await expect(resume(['model.dim=64'])).rejects.toThrow(`--set model.dim=64: a resumed run keeps its model (${runDir}/step-00000002/config.json has dim 32, as ${yaml} says)`);
    await expect(resume(['train.lr=0.5'])).rejects.toThrow(`--set train.lr (0.001 in ${yaml}, --set 0.5): cannot change on resume`);
    const logs: string[] = [];
    const summary = await resume(['train.max_steps=4'], (m) => logs.push(m));
    expect(summary).toMatchObject({ steps: 4 });
    expect(logs).toContain(`--resume: --set train.max_steps=4 applies (${yaml} had 2)`);
    expect(await fsp.readFile(yaml, 'utf8')).toMatch(/max_steps: 4/);

    // config.yaml edited to another size: refused, naming both files.
    await fsp.writeFile(yaml, (await fsp.readFile(yaml, 'utf8')).replace(/^( {2}dim:) 32$/m, '$1 64'));
    await expect(resume([])).rejects.toThrow(`${yaml}: model.dim is 64, but the checkpoint's ${runDir}/step-00000004/config.json has dim 32`);
    await fsp.writeFile(yaml, (await fsp.readFile(yaml, 'utf8')).replace(/^( {2}dim:) 64$/m, '$1 32'));

    // Every checkpoint damaged: an error naming them, and they stay as they were.
    const steps = (await fsp.readdir(runDir)).filter((n) => n.startsWith('step-'));
    for (const step of steps) await fsp.appendFile(path.join(runDir, step, 'model.safetensors'), 'x');
    await expect(resume([])).rejects.toThrow(`${runDir}: every checkpoint is damaged (${steps.join(', ')}; see the lines above)`);
    await expect(train(config, { log: () => {} })).rejects.toThrow(/already holds checkpoints \(step-/);
  });

  it('--resume without a checkpoint checks the saved model section before building the student', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'trainer-nockpt-'));
    await fsp.mkdir(path.join(dir, 'runs', 'r'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'runs', 'r', 'config.yaml'), `run: {out_dir: ${JSON.stringify(`${dir}/runs`)}, name: r}\nmodel: {dim: big}\n`);
    const config = parseConfig(Config, applySets({}, [`run.out_dir=${dir}/runs`, 'run.name=r']), 'test');
    await expect(train(config, { resume: true, log: () => {} })).rejects.toThrow(/config\.yaml \(model\): invalid config:\n  'dim'/);
  });
});
