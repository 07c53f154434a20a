/**
 * BERT_Cat scoring throughput (pairs/s: tokenize + forward, as `teachers score` runs it) on wasm and cpu,
 * for the golden tiny BERT_Cat (2 layers, dim 32) and a random small one (2 layers, dim 128, 2 heads,
 * FFN 512, the size of the tiny student), over the real MS MARCO sample triples (both pairs of each).
 * Also compares length-sorted chunks of 16 pairs with padding a whole batch to its longest pair.
 * Run: npx tsx bench/teachers.ts  → table + bench/out/teachers.json
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeJsonAtomic } from '../common/atomic.js';
import { ROOT, sharedPath } from '../common/paths.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { loadBertCat } from '../models/bert-cat.js';
import { initBackend } from '../models/engine/backend.js';
import { writeSafetensors } from '../models/weights/safetensors.js';
import { scorePairs } from '../teachers/pair-scorer.js';

const BATCH_TRIPLES = 32; // 64 pairs per forward
const MAX_LENGTH = 256;

/** A random BertForSequenceClassification checkpoint with HF names (throughput does not depend on the values). */
async function randomCheckpoint(dir: string, cfg: { hidden: number; layers: number; heads: number; ffn: number }): Promise<void> {
  const golden = JSON.parse(await fsp.readFile(sharedPath('goldens', 'bert-cat-tiny', 'config.json'), 'utf8'));
  const config = { ...golden, hidden_size: cfg.hidden, num_hidden_layers: cfg.layers, num_attention_heads: cfg.heads, intermediate_size: cfg.ffn };
  const t = new Map<string, tf.Tensor>();
  const H = cfg.hidden;
  const r = (name: string, shape: number[]) => t.set(name, tf.randomNormal(shape, 0, 0.02, 'float32', 7));
  const ln = (p: string) => (t.set(`${p}.weight`, tf.ones([H])), t.set(`${p}.bias`, tf.zeros([H])));
  r('bert.embeddings.word_embeddings.weight', [config.vocab_size, H]);
  r('bert.embeddings.position_embeddings.weight', [config.max_position_embeddings, H]);
  r('bert.embeddings.token_type_embeddings.weight', [2, H]);
  ln('bert.embeddings.LayerNorm');
  for (let l = 0; l < cfg.layers; l++) {
    const p = `bert.encoder.layer.${l}`;
    for (const m of ['query', 'key', 'value']) (r(`${p}.attention.self.${m}.weight`, [H, H]), r(`${p}.attention.self.${m}.bias`, [H]));
    r(`${p}.attention.output.dense.weight`, [H, H]);
    r(`${p}.attention.output.dense.bias`, [H]);
    ln(`${p}.attention.output.LayerNorm`);
    r(`${p}.intermediate.dense.weight`, [cfg.ffn, H]);
    r(`${p}.intermediate.dense.bias`, [cfg.ffn]);
    r(`${p}.output.dense.weight`, [H, cfg.ffn]);
    r(`${p}.output.dense.bias`, [H]);
    ln(`${p}.output.LayerNorm`);
  }
  r('bert.pooler.dense.weight', [H, H]);
  r('bert.pooler.dense.bias', [H]);
  r('classifier.weight', [1, H]);
  r('classifier.bias', [1]);
  await fsp.mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, 'model.safetensors'), t);
  await fsp.writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  tf.dispose([...t.values()]);
}

async function main(): Promise<void> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-teachers-'));
  const small = path.join(tmp, 'small');
  await initBackend('cpu', { quiet: true });
  await randomCheckpoint(small, { hidden: 128, layers: 2, heads: 2, ffn: 512 });
  const tok = await loadTokenizer(sharedPath('data', 'vocab', 'bert-base-uncased-vocab.txt'));
  const triples = (await fsp.readFile(sharedPath('data', 'msmarco-sample', 'triples.train.sample.tsv'), 'utf8'))
    .split('\n')
    .filter((l) => l)
    .map((l) => l.split('\t'));
  const models = [
    { name: 'tiny (L2 H32)', dir: sharedPath('goldens', 'bert-cat-tiny') },
    { name: 'small (L2 H128)', dir: small },
  ];
  // Each case: backend, model, pairs per forward after length sorting (0 = whole batch padded to its longest).
  const cases = [
    { backend: 'wasm', model: models[0], chunk: 0, triples: 100 },
    { backend: 'wasm', model: models[0], chunk: 16, triples: 100 },
    { backend: 'wasm', model: models[1], chunk: 0, triples: 100 },
    { backend: 'wasm', model: models[1], chunk: 16, triples: 100 },
    // cpu (pure JS) is ~30x slower: fewer triples, enough for a stable rate.
    { backend: 'cpu', model: models[0], chunk: 16, triples: 32 },
  ] as const;
  const rows: { model: string; backend: string; chunk: number; pairs: number; seconds: number; pairsPerSec: number; meanTokens: number; paddedTokens: number }[] = [];
  for (const c of cases) {
    await initBackend(c.backend, { quiet: true });
    const model = await loadBertCat(c.model.dir);
    await scorePairs(model, tok, [[triples[0][0], triples[0][1]]], { maxLength: MAX_LENGTH }); // warm-up (kernel setup)
    let pairs = 0;
    let tokens = 0;
    let padded = 0;
    let seconds = 0;
    for (let i = 0; i < c.triples; i += BATCH_TRIPLES) {
      const b = triples.slice(i, Math.min(i + BATCH_TRIPLES, c.triples));
      const batch = [...b.map((t): [string, string] => [t[0], t[1]]), ...b.map((t): [string, string] => [t[0], t[2]])];
      const lens = batch.map(([q, p]) => tok.encodePair(q, p, MAX_LENGTH).ids.length).sort((x, y) => x - y);
      tokens += lens.reduce((s, x) => s + x, 0);
      const chunk = c.chunk || lens.length;
      for (let k = 0; k < lens.length; k += chunk) padded += lens[Math.min(k + chunk, lens.length) - 1] * Math.min(chunk, lens.length - k);
      const t0 = performance.now();
      await scorePairs(model, tok, batch, { maxLength: MAX_LENGTH, chunk: c.chunk });
      seconds += (performance.now() - t0) / 1000;
      pairs += batch.length;
    }
    rows.push({ model: c.model.name, backend: c.backend, chunk: c.chunk, pairs, seconds, pairsPerSec: pairs / seconds, meanTokens: tokens / pairs, paddedTokens: padded / pairs });
    model.dispose();
  }
  const rate = (m: string, b: string, ch: number) => rows.find((r) => r.model === m && r.backend === b && r.chunk === ch)!.pairsPerSec;
  const ratios = {
    sortedVsPadded: models.map((m) => ({ model: m.name, ratio: rate(m.name, 'wasm', 16) / rate(m.name, 'wasm', 0) })),
    wasmVsCpu: { model: models[0].name, ratio: rate(models[0].name, 'wasm', 16) / rate(models[0].name, 'cpu', 16) },
  };
  console.log(`BERT_Cat scoring (tokenize + forward), batches of ${BATCH_TRIPLES} triples = ${2 * BATCH_TRIPLES} pairs, max length ${MAX_LENGTH}, 1 thread`);
  console.log('model            backend chunk  pairs  seconds  pairs/s  tokens/pair  padded/pair');
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(16)} ${r.backend.padEnd(7)} ${String(r.chunk || 'all').padStart(5)} ${String(r.pairs).padStart(6)} ${r.seconds.toFixed(2).padStart(8)} ${r.pairsPerSec.toFixed(1).padStart(8)} ${r.meanTokens.toFixed(1).padStart(12)} ${r.paddedTokens.toFixed(1).padStart(12)}`,
    );
  }
  for (const r of ratios.sortedVsPadded) console.log(`${r.model} wasm: length-sorted chunks of 16 are ${r.ratio.toFixed(2)}x one padded batch`);
  console.log(`${ratios.wasmVsCpu.model}: wasm is ${ratios.wasmVsCpu.ratio.toFixed(1)}x cpu`);
  await writeJsonAtomic(path.join(ROOT, 'bench', 'out', 'teachers.json'), { batchTriples: BATCH_TRIPLES, maxLength: MAX_LENGTH, rows, ratios, load: os.loadavg(), date: new Date().toISOString() });
  await fsp.rm(tmp, { recursive: true, force: true });
}

await main();
