import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../../common/paths.js';
import { DistilBert, distilbertShapes } from '../distilbert.js';
import { testBackend } from '../engine/testing.js';
import { loadDistilBert, saveDistilBert } from './hf.js';
import { readSafetensors, readSafetensorsRaw, writeSafetensors } from './safetensors.js';

const GOLDEN_DIR = sharedPath('goldens', 'distilbert-tiny');
const VOCAB = sharedPath('data', 'vocab', 'bert-base-uncased-vocab.txt');
let tmp: string;

testBackend();
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'hf-'));
});
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

/** A model folder with the golden's config and the given tensors. */
async function folder(name: string, tensors: Map<string, tf.Tensor>, config?: object): Promise<string> {
  const dir = path.join(tmp, name);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.copyFile(path.join(GOLDEN_DIR, 'config.json'), path.join(dir, 'config.json'));
  if (config) await fsp.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  return dir;
}

describe('HF DistilBERT import and export', () => {
  it('import then export reproduces every tensor bit for bit, plus config and tokenizer files', async () => {
    const before = tf.memory().numTensors;
    const model = await loadDistilBert(GOLDEN_DIR);
    const out = path.join(tmp, 'export');
    await saveDistilBert(model, out, { vocabFile: VOCAB });
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const a = await readSafetensorsRaw(path.join(GOLDEN_DIR, 'model.safetensors'));
    const b = await readSafetensorsRaw(path.join(out, 'model.safetensors'));
    expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
    for (const [name, t] of a.tensors) {
      expect(b.tensors.get(name)!.shape, name).toEqual(t.shape);
      expect(Buffer.from(b.tensors.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    }
    const config = JSON.parse(await fsp.readFile(path.join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'distilbert', architectures: ['DistilBertModel'], dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64, vocab_size: 30522, activation: 'gelu' });
    expect(await fsp.readFile(path.join(out, 'vocab.txt'), 'utf8')).toBe(await fsp.readFile(VOCAB, 'utf8'));
    expect(JSON.parse(await fsp.readFile(path.join(out, 'tokenizer_config.json'), 'utf8'))).toMatchObject({ tokenizer_class: 'DistilBertTokenizer', do_lower_case: true, model_max_length: 512 });
    expect(JSON.parse(await fsp.readFile(path.join(out, 'special_tokens_map.json'), 'utf8'))).toMatchObject({ cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]' });
  });

  it('accepts the distilbert. prefix and ignores the MLM head', async () => {
    const hf = await readSafetensors(path.join(GOLDEN_DIR, 'model.safetensors'));
    const mlm = new Map<string, tf.Tensor>([...hf].map(([n, t]) => [`distilbert.${n}`, t]));
    mlm.set('vocab_transform.weight', tf.zeros([32, 32]));
    mlm.set('vocab_layer_norm.weight', tf.zeros([32]));
    mlm.set('vocab_projector.bias', tf.zeros([30522]));
    const model = await loadDistilBert(await folder('mlm', mlm));
    for (const [name, t] of hf) expect(Buffer.from(model.weights.get(name)!.dataSync().buffer).equals(Buffer.from(t.dataSync().buffer)), name).toBe(true);
    model.dispose();
    tf.dispose([...mlm.values(), ...hf.values()]);
  });

  it('reads pytorch_model.bin when there is no model.safetensors, and rejects missing, unexpected and mis-shaped weights', async () => {
    const bin = path.join(tmp, 'bin');
    await fsp.mkdir(bin);
    await fsp.copyFile(path.join(GOLDEN_DIR, 'config.json'), path.join(bin, 'config.json'));
    await fsp.writeFile(path.join(bin, 'pytorch_model.bin'), 'pickle');
    await expect(loadDistilBert(bin)).rejects.toThrow(/pytorch_model\.bin: expected .*torch\.save/);
    await fsp.rm(path.join(bin, 'pytorch_model.bin'));
    await expect(loadDistilBert(bin)).rejects.toThrow(/bin: expected a model folder with model\.safetensors or pytorch_model\.bin, got neither file/);

    const hf = await readSafetensors(path.join(GOLDEN_DIR, 'model.safetensors'));
    const missing = new Map(hf);
    missing.delete('transformer.layer.1.ffn.lin2.bias');
    await expect(loadDistilBert(await folder('missing', missing))).rejects.toThrow(/model\.safetensors: expected the DistilBertModel parameters.*missing transformer\.layer\.1\.ffn\.lin2\.bias/);
    const extra = new Map(hf);
    extra.set('bert.pooler.dense.weight', tf.zeros([2]));
    await expect(loadDistilBert(await folder('extra', extra))).rejects.toThrow(/unexpected bert\.pooler\.dense\.weight/);
    // the config says hidden_dim 128, the file holds 64
    const config = JSON.parse(await fsp.readFile(path.join(GOLDEN_DIR, 'config.json'), 'utf8'));
    await expect(loadDistilBert(await folder('shape', hf, { ...config, hidden_dim: 128 }))).rejects.toThrow(/expected 'transformer\.layer\.0\.ffn\.lin1\.weight' of shape \[128,32\].*got \[64,32\]/);
    await expect(loadDistilBert(await folder('bert', hf, { ...config, model_type: 'bert' }))).rejects.toThrow(/config\.json: expected model_type "distilbert", got "bert"/);
    tf.dispose([...hf.values()]);
  });

  it('random() follows HF init, is deterministic in the seed, and saves and loads back', async () => {
    const config = { vocab_size: 50, max_position_embeddings: 16, dim: 16, n_layers: 2, n_heads: 2, hidden_dim: 32 };
    const a = DistilBert.random(config, 7);
    const b = DistilBert.random(config, 7);
    const c = DistilBert.random(config, 8);
    expect([...a.weights.keys()]).toEqual([...distilbertShapes(a.config).keys()]);
    const w = a.weights.get('transformer.layer.0.ffn.lin1.weight')!.dataSync() as Float32Array;
    const std = Math.sqrt(w.reduce((s, x) => s + x * x, 0) / w.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    expect([...a.weights.get('transformer.layer.1.sa_layer_norm.weight')!.dataSync()]).toEqual(new Array(16).fill(1));
    expect([...a.weights.get('transformer.layer.1.ffn.lin2.bias')!.dataSync()]).toEqual(new Array(16).fill(0));
    expect([...a.weights.get('embeddings.word_embeddings.weight')!.dataSync().slice(0, 16)]).toEqual(new Array(16).fill(0)); // [PAD] row
    expect(a.weights.get('transformer.layer.0.ffn.lin1.weight')!.dataSync()).toEqual(b.weights.get('transformer.layer.0.ffn.lin1.weight')!.dataSync());
    expect(a.weights.get('transformer.layer.0.ffn.lin1.weight')!.dataSync()).not.toEqual(c.weights.get('transformer.layer.0.ffn.lin1.weight')!.dataSync());
    const dir = path.join(tmp, 'random');
    await expect(saveDistilBert(a, dir, { vocabFile: VOCAB })).rejects.toThrow(/at most vocab_size = 50 tokens, got 30522 lines/);
    const vocab = path.join(tmp, 'vocab50.txt');
    await fsp.writeFile(vocab, (await fsp.readFile(VOCAB, 'utf8')).split('\n').slice(0, 50).join('\n') + '\n');
    await saveDistilBert(a, dir, { vocabFile: vocab });
    const back = await loadDistilBert(dir);
    for (const [name, v] of a.weights) expect(back.weights.get(name)!.dataSync(), name).toEqual(v.dataSync());
    for (const m of [a, b, c, back]) m.dispose();
  });
});
