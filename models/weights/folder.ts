import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../../common/errors.js';
import { readSafetensorsRaw, type SafetensorsFile } from './safetensors.js';
import { readTorchBin } from './torch-bin.js';

/** The weight files a model folder may hold, in the order they are preferred. */
export const WEIGHT_FILES = ['model.safetensors', 'pytorch_model.bin'] as const;

/** A model folder's weights as raw tensors, and the file they were read from (for error messages). */
export type ModelWeights = SafetensorsFile & { file: string };

/**
 * A model folder's weights as raw tensors: `model.safetensors` when present, else `pytorch_model.bin`
 * (torch.save, read without running it). Every loader of a model folder (student, teacher) reads through here.
 */
export async function readModelWeights(dir: string): Promise<ModelWeights> {
  for (const name of WEIGHT_FILES) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    const read = name === 'model.safetensors' ? readSafetensorsRaw : readTorchBin;
    return { file, ...(await read(file)) };
  }
  throw new InputError(dir, undefined, `a model folder with ${WEIGHT_FILES.join(' or ')}`, 'neither file');
}
