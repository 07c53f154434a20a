import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';

/**
 * Folders that hold only pytorch_model.bin (torch.save, both layouts) through the real CLI: `model parity`
 * reproduces the PyTorch goldens from them, a checkpoint whose pickle calls a non-weights global is refused
 * with one line, and `model convert` writes safetensors folders that reproduce the goldens too. Every golden
 * folder is read bit-exactly in-process (models/weights/torch-bin.test.ts); here one folder per layout and
 * model kind goes through the CLI, since the CLI path is the same for all of them.
 */
const run = promisify(execFile);
const TORCH = sharedPath('goldens', 'torch-bin');
const CAT_DISTILBERT = path.join(ROOT, 'parity', 'goldens', 'bert-cat-distilbert-tiny');
let tmp: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'model-torch-'));
});
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

/** `margin-mse …` as a child process; resolves with the exit code and both streams. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const FOLDERS = [
  ['distilbert-tiny', 'zip-f32-views', 100],
  ['bert-cat-tiny', 'legacy-f32', 2],
] as const;

describe('model parity on pytorch_model.bin folders', () => {
  for (const [fixture, layout, quantities] of FOLDERS) {
    it(`${fixture}/${layout} reproduces ${fixture}/golden.json`, async () => {
      const r = await cli('model', 'parity', '--model', path.join(TORCH, fixture, layout), '--reference', sharedPath('goldens', fixture, 'golden.json'), '--backend', 'cpu');
      expect(r.stdout).toContain(`PASS on cpu: ${quantities}/${quantities} quantities within tolerance`);
      expect(r.code).toBe(0);
    }, 300_000);
  }

  it('refuses the malicious checkpoint with one line naming the global, exit 1', async () => {
    const dir = path.join(TORCH, 'distilbert-tiny', 'malicious');
    const r = await cli('model', 'parity', '--model', dir, '--reference', sharedPath('goldens', 'distilbert-tiny', 'golden.json'), '--backend', 'cpu');
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('margin-mse:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(path.join(dir, 'pytorch_model.bin'));
    expect(lines[0]).toMatch(/got the global posix\.system, refused \(nothing was run\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
  }, 300_000);
});

/** The one `margin-mse:` line of a failed command (exit 1, no stack trace). */
function oneLine(r: { code: number; stdout: string; stderr: string }): string {
  expect(r.code).toBe(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('margin-mse:'));
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe('model convert', () => {
  const CASES = [
    ...FOLDERS.map(([fixture, layout, quantities]) => ({ name: `${fixture}/${layout}`, src: path.join(TORCH, fixture, layout), golden: sharedPath('goldens', fixture, 'golden.json'), quantities })),
    { name: 'bert-cat-distilbert-tiny/pytorch_model', src: path.join(CAT_DISTILBERT, 'pytorch_model'), golden: path.join(CAT_DISTILBERT, 'golden.json'), quantities: 2 },
  ];
  for (const c of CASES) {
    it(`converts ${c.name} to a safetensors folder that passes parity`, async () => {
      const out = path.join(tmp, c.name.replace('/', '-'));
      const conv = await cli('model', 'convert', '--model', c.src, '--out', out);
      expect(conv.code).toBe(0);
      expect(conv.stdout).toContain(`${path.join(c.src, 'pytorch_model.bin')}: `);
      const files = (await fsp.readdir(out)).sort();
      // DistilBERT BERT_Cat's config names distilbert-base-uncased: it gets the bundled vocabulary.
      const withVocab = c.name.startsWith('bert-cat-distilbert');
      expect(files).toEqual(withVocab ? ['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt'] : ['config.json', 'model.safetensors']);
      if (!withVocab) expect(conv.stdout).toMatch(/no vocab\.txt written/);
      const r = await cli('model', 'parity', '--model', out, '--reference', c.golden, '--backend', 'cpu');
      expect(r.stdout).toContain(`PASS on cpu: ${c.quantities}/${c.quantities} quantities within tolerance`);
    }, 300_000);
  }

  it('writes the layout train export writes, with the source vocab.txt, and the same tensors', async () => {
    const src = path.join(tmp, 'with-vocab');
    await fsp.mkdir(src);
    for (const f of ['config.json', 'pytorch_model.bin']) await fsp.copyFile(path.join(TORCH, 'distilbert-tiny', 'legacy-f32', f), path.join(src, f));
    const vocab = (await fsp.readFile(path.join(ROOT, 'data', 'vocab', 'bert-base-uncased-vocab.txt'), 'utf8')).split('\n').slice(0, 100).join('\n') + '\n';
    await fsp.writeFile(path.join(src, 'vocab.txt'), vocab);
    const out = path.join(tmp, 'with-vocab-out');
    await fsp.mkdir(out); // an empty folder is fine
    const r = await cli('model', 'convert', '--model', src, '--out', out);
    expect(r.code).toBe(0);
    expect((await fsp.readdir(out)).sort()).toEqual(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt']);
    expect(await fsp.readFile(path.join(out, 'vocab.txt'), 'utf8')).toBe(vocab);
    const config = JSON.parse(await fsp.readFile(path.join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'distilbert', architectures: ['DistilBertModel'], torch_dtype: 'float32', dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64 });
    expect(JSON.parse(await fsp.readFile(path.join(out, 'tokenizer_config.json'), 'utf8')).tokenizer_class).toBe('DistilBertTokenizer');
    // Same names and bytes as the fixture's own safetensors (both float32, names sorted).
    const ours = await fsp.readFile(path.join(out, 'model.safetensors'));
    const fixture = await fsp.readFile(sharedPath('goldens', 'distilbert-tiny', 'model.safetensors'));
    const header = (b: Buffer) => JSON.parse(b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString('utf8'));
    const [h1, h2] = [header(ours), header(fixture)];
    delete h1.__metadata__;
    delete h2.__metadata__;
    expect(Object.keys(h1).sort()).toEqual(Object.keys(h2).sort());
    for (const name of Object.keys(h1)) {
      const bytes = (b: Buffer, h: Record<string, { data_offsets: number[] }>) => b.subarray(8 + Number(b.readBigUInt64LE(0)) + h[name].data_offsets[0], 8 + Number(b.readBigUInt64LE(0)) + h[name].data_offsets[1]);
      expect(bytes(ours, h1).equals(bytes(fixture, h2)), name).toBe(true);
    }
  }, 300_000);

  it('refuses bad inputs with one line', async () => {
    const noWeights = path.join(tmp, 'no-weights');
    await fsp.mkdir(noWeights);
    await fsp.copyFile(path.join(TORCH, 'distilbert-tiny', 'zip-f32', 'config.json'), path.join(noWeights, 'config.json'));
    const truncated = path.join(tmp, 'truncated');
    await fsp.mkdir(truncated);
    await fsp.copyFile(path.join(TORCH, 'distilbert-tiny', 'legacy-f32', 'config.json'), path.join(truncated, 'config.json'));
    const bin = await fsp.readFile(path.join(TORCH, 'distilbert-tiny', 'legacy-f32', 'pytorch_model.bin'));
    await fsp.writeFile(path.join(truncated, 'pytorch_model.bin'), bin.subarray(0, bin.length - 1000));
    const full = path.join(tmp, 'full');
    await fsp.mkdir(full);
    await fsp.writeFile(path.join(full, 'model.safetensors'), 'a model already');
    const out = (name: string) => path.join(tmp, `bad-${name}`);

    expect(oneLine(await cli('model', 'convert', '--model', path.join(tmp, 'missing'), '--out', out('a')))).toMatch(/missing: expected a model folder \(--model\), got no such folder/);
    expect(oneLine(await cli('model', 'convert', '--model', noWeights, '--out', out('b')))).toMatch(/no-weights: expected a model folder with model\.safetensors or pytorch_model\.bin, got neither file/);
    expect(oneLine(await cli('model', 'convert', '--model', path.join(TORCH, 'distilbert-tiny', 'malicious'), '--out', out('c')))).toMatch(/malicious\/pytorch_model\.bin: .*got the global posix\.system, refused/);
    expect(oneLine(await cli('model', 'convert', '--model', truncated, '--out', out('d')))).toMatch(/truncated\/pytorch_model\.bin: expected 4096 bytes of storage .*\(truncated\?\)/);
    const src = path.join(TORCH, 'distilbert-tiny', 'zip-f32');
    expect(oneLine(await cli('model', 'convert', '--model', src, '--out', src))).toMatch(/expected an --out folder other than --model/);
    expect(oneLine(await cli('model', 'convert', '--model', src, '--out', full))).toMatch(/full: expected a new or empty folder for --out \(nothing is overwritten\), got a folder holding model\.safetensors/);
    expect(await fsp.readFile(path.join(full, 'model.safetensors'), 'utf8')).toBe('a model already');
    for (const name of 'abcd') expect(await fsp.stat(out(name)).then(() => true, () => false), name).toBe(false);
  }, 300_000);
});
