/**
 * Training throughput of the tiny student (configs/tiny.yaml: 2 layers, dim 32) with Margin-MSE on the
 * quickstart's generated MS MARCO-shaped dataset, validation included, on the chosen backend.
 *   npx tsx bench/train.ts [--backend wasm|cpu|auto] [--steps N] [--set key=value ...]
 * Prints steps/s, triples/s and the validation curve; writes bench/out/train.json and the run folder
 * (with curves.png) under bench/out/train-run/.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT } from '../common/paths.js';
import { applySets, parseConfig } from '../common/config.js';
import { Config } from '../pipelines/config.js';
import { generate } from '../quickstart/generate.js';
import { readMetrics } from '../train/metrics.js';
import { train } from '../pipelines/train.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const sets = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--set' ? [a] : []));
const backend = arg('backend', 'wasm');
const out = path.join(ROOT, 'bench', 'out');
const dir = path.join(out, 'train-run');
await fsp.rm(path.join(dir, 'runs'), { recursive: true, force: true });

const f = await generate(path.join(dir, 'data'), { topics: 100, passagesPerTopic: 3, extraPassages: 50, trainQueries: 600, devQueries: 50, valQueries: 50, bm25Depth: 20, triplesPerQuery: 4 });
// The model section is passed beside the schema: its fields belong to models/config.ts (see docs/train.md).
const { model, ...rest } = YAML.parse(readFileSync(path.join(ROOT, 'configs', 'tiny.yaml'), 'utf8')) as Record<string, unknown>;
const raw = applySets(rest, [
  `data.collection=${f.collection}`, `data.queries=${f.queriesTrain}`, `data.triples=${f.trainScores}`, `data.cache_dir=${dir}/cache`,
  `train.validation.queries=${f.queriesVal}`, `train.validation.qrels=${f.qrelsVal}`, `train.validation.candidates=${f.bm25Val}`,
  `train.validation.collection=${f.collection}`, `train.max_steps=${arg('steps', '300')}`, 'train.max_epochs=5',
  `run.out_dir=${dir}/runs`, `run.backend=${backend}`, ...sets,
]);
const config = { ...parseConfig(Config, raw, 'configs/tiny.yaml'), model } as unknown as Config;
const s = await train(config, { command: `npx tsx bench/train.ts ${process.argv.slice(2).join(' ')}` });

const rows = await readMetrics(path.join(dir, 'runs', config.run.name, 'metrics.jsonl'));
const losses = rows.filter((r) => r.loss !== undefined);
const vals = rows.filter((r) => r.validation).map((r) => `${r.step}: ${r.validation![config.train.validation.measure].toFixed(3)}`);
const result = {
  backend, steps: s.steps, batch_size: config.train.batch_size, steps_per_s: s.steps_per_s, triples_per_s: s.triples_per_s,
  first_loss: losses[0]?.loss, last_loss: losses[losses.length - 1]?.loss, best: s.best, curves: s.curves,
};
process.stdout.write(
  `| backend | steps | batch | steps/s | triples/s | loss first → last | best ${config.train.validation.measure} |\n|---|---|---|---|---|---|---|\n` +
  `| ${backend} | ${s.steps} | ${config.train.batch_size} | ${s.steps_per_s.toFixed(2)} | ${s.triples_per_s.toFixed(1)} | ${result.first_loss?.toFixed(2)} → ${result.last_loss?.toFixed(2)} | ${s.best?.value.toFixed(3)} @ ${s.best?.step} |\n` +
  `validation: ${vals.join(', ')}\ncurves: ${s.curves}\n`,
);
await fsp.writeFile(path.join(out, 'train.json'), `${JSON.stringify(result, null, 2)}\n`);
