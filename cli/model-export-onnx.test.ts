import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';
import { tempFiles } from '../common/testing.js';
import { compare } from '../parity/reference.js';

/**
 * `margin-mse model export-onnx` through the CLI: the tiny goldens' folders become .onnx files that ONNX
 * Runtime, given the file alone, runs to PyTorch's outputs (1e-4 relative, the goldens' float32 tolerance).
 */
const run = promisify(execFile);
const tmp = tempFiles('export-onnx-');
afterAll(() => fsp.rm(tmp.dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    // tsx itself rather than npx: npm would add its warning about .npmrc's onnxruntime-node-install key (docs/engine.md).
    const { stdout, stderr } = await run(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['cli/main.ts', 'model', 'export-onnx', ...args], { cwd: ROOT });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

const golden = async (name: string) => JSON.parse(await fsp.readFile(sharedPath('goldens', name, 'golden.json'), 'utf8'));
const int64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0].length]);

describe('margin-mse model export-onnx', () => {
  it('writes the student (kind from config.json) as a file ONNX Runtime runs to the PyTorch CLS vectors', async () => {
    const out = path.join(tmp.dir, 'sub', 'student.onnx');
    const r = await cli('--model', sharedPath('goldens', 'distilbert-tiny'), '--out', out);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`wrote ${out}: BERT_Dot (DistilBERT), 2 layers, dim 32`);
    expect((await fsp.readdir(path.dirname(out))).sort()).toEqual(['student.onnx']); // no temp file left behind

    const g = await golden('distilbert-tiny');
    const session = await ort.InferenceSession.create(out, { intraOpNumThreads: 1 });
    try {
      expect(session.inputNames).toEqual(['input_ids', 'attention_mask']);
      for (const part of ['query', 'pos', 'neg']) {
        const res = await session.run({ input_ids: int64(g[part].input_ids), attention_mask: int64(g[part].attention_mask) });
        const q = compare(`${part}_cls`, res.cls.data as Float32Array, g[`${part}_cls`].flat(), 1e-4);
        expect(q.maxRel, part).toBeLessThan(1e-4);
        expect(res.last_hidden_state.dims).toEqual([g[part].input_ids.length, g[part].input_ids[0].length, 32]);
      }
    } finally {
      await session.release();
    }
  }, 120_000);

  it('writes the teacher as a file ONNX Runtime runs to the PyTorch scores', async () => {
    const out = path.join(tmp.dir, 'teacher.onnx');
    const r = await cli('--model', sharedPath('goldens', 'bert-cat-tiny'), '--out', out, '--kind', 'bert-cat');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('BERT_Cat (hf form, bert encoder), 2 layers, hidden 32');
    const g = await golden('bert-cat-tiny');
    const session = await ort.InferenceSession.create(out, { intraOpNumThreads: 1 });
    try {
      const res = await session.run({ input_ids: int64(g.input_ids), attention_mask: int64(g.attention_mask), token_type_ids: int64(g.token_type_ids) });
      expect(compare('scores', res.score.data as Float32Array, g.scores, 1e-4).maxRel).toBeLessThan(1e-4);
      expect(res.logits.dims).toEqual([g.scores.length, 1]);
    } finally {
      await session.release();
    }
  }, 120_000);

  it('writes a matchmaker BERT_Cat with a DistilBERT encoder (model_type BERT_Cat) to the PyTorch scores', async () => {
    const dir = path.join(ROOT, 'parity', 'goldens', 'bert-cat-distilbert-tiny');
    const out = path.join(tmp.dir, 'teacher-distilbert.onnx');
    const r = await cli('--model', dir, '--out', out);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('BERT_Cat (matchmaker form, distilbert encoder), 2 layers, hidden 32');
    const g = JSON.parse(await fsp.readFile(path.join(dir, 'golden.json'), 'utf8'));
    const session = await ort.InferenceSession.create(out, { intraOpNumThreads: 1 });
    try {
      const res = await session.run({ input_ids: int64(g.input_ids), attention_mask: int64(g.attention_mask), token_type_ids: int64(g.token_type_ids) });
      expect(compare('scores', res.score.data as Float32Array, g.scores, 1e-4).maxRel).toBeLessThan(1e-4);
    } finally {
      await session.release();
    }
  }, 120_000);

  it('says in one line when config.json names no kind it knows, and writes nothing', async () => {
    const dir = path.join(tmp.dir, 'roberta');
    await fsp.mkdir(dir);
    await fsp.writeFile(path.join(dir, 'config.json'), '{"model_type": "roberta"}');
    const out = path.join(tmp.dir, 'none.onnx');
    const r = await cli('--model', dir, '--out', out);
    expect(r.code).toBe(1);
    expect(r.out.trim()).toBe(`margin-mse: ${dir}/config.json: expected model_type "distilbert" (bert-dot), "bert" or "BERT_Cat" (bert-cat); pass --kind for other folders, got "roberta"`);
    await expect(fsp.stat(out)).rejects.toThrow();
  }, 60_000);
});
