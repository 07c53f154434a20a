import path from 'node:path';
import { writeFileAtomic } from '../common/atomic.js';
import { InputError } from '../common/errors.js';
import type { Adam } from './adam.js';
import type { Checkpoint } from './checkpoint.js';
import { readMetricsLines } from './metrics.js';
import type { Student } from './student.js';

/** Puts a checkpoint's weights and Adam moments into the student and the optimizer; errors name the file. */
export function restore(c: Checkpoint, student: Student, adam: Adam): void {
  const file = path.join(c.dir, 'model.safetensors');
  for (const [name, p] of student.params) {
    const w = c.weights.get(name);
    if (!w) throw new InputError(file, undefined, `a tensor '${name}' (a parameter of the student)`, 'none');
    if (w.shape.join(',') !== p.shape.join(',')) throw new InputError(file, undefined, `'${name}' of shape [${p.shape}]`, `[${w.shape}]`);
    p.assign(w);
  }
  try {
    adam.load(c.adam);
  } catch (e) {
    throw new InputError(path.join(c.dir, 'optimizer.safetensors'), undefined, 'Adam moments m and v for every parameter, shaped like it', (e as Error).message);
  }
}

/** On resume, drops metrics rows written after the checkpoint (they will be written again) and a torn last row. */
export async function keepMetricsUpTo(file: string, step: number): Promise<void> {
  const kept = (await readMetricsLines(file)).filter((l) => l.row.step <= step);
  await writeFileAtomic(file, kept.map((l) => `${l.text}\n`).join(''));
}
