import { describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { testBackend } from '../models/engine/testing.js';
import { readSafetensorsRaw } from '../models/weights/safetensors.js';
import { modelFromConfig } from './bert-dot-student.js';

/** `train` with `model.init` naming a folder that holds only pytorch_model.bin (torch.save). */
describe('model.init from pytorch_model.bin', () => {
  testBackend('cpu');

  it('starts from the checkpoint: every weight equals the fixture safetensors, bit for bit', async () => {
    const model = await modelFromConfig({ init: sharedPath('goldens', 'torch-bin', 'distilbert-tiny', 'legacy-f32') }, 1);
    const { tensors } = await readSafetensorsRaw(sharedPath('goldens', 'distilbert-tiny', 'model.safetensors'));
    expect([...model.weights.keys()].sort()).toEqual([...tensors.keys()].sort());
    const bytes = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (const [name, t] of tensors) expect(bytes((await model.weights.get(name)!.data()) as Float32Array).equals(bytes(t.data)), name).toBe(true);
    model.dispose();
  });
});
