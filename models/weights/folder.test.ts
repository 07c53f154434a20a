import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../../common/paths.js';
import { readModelWeights } from './folder.js';

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'weights-folder-'));
});
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

describe('readModelWeights', () => {
  it('reads model.safetensors first, else pytorch_model.bin, else names the folder', async () => {
    const both = path.join(tmp, 'both');
    await fsp.mkdir(both);
    await fsp.copyFile(sharedPath('goldens', 'distilbert-tiny', 'model.safetensors'), path.join(both, 'model.safetensors'));
    await fsp.writeFile(path.join(both, 'pytorch_model.bin'), 'not read');
    const st = await readModelWeights(both);
    expect(st.file).toBe(path.join(both, 'model.safetensors'));
    expect(st.tensors.size).toBe(36);

    const binDir = sharedPath('goldens', 'torch-bin', 'bert-cat-tiny', 'legacy-f32');
    const bin = await readModelWeights(binDir);
    expect([bin.file, bin.metadata.layout]).toEqual([path.join(binDir, 'pytorch_model.bin'), 'legacy']);
    expect(bin.tensors.has('classifier.weight')).toBe(true);

    await expect(readModelWeights(tmp)).rejects.toThrow(`${tmp}: expected a model folder with model.safetensors or pytorch_model.bin, got neither file`);
  });
});
