import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { InputError } from '../../common/errors.js';
import type { RawTensor, SafetensorsFile } from './safetensors.js';
import { DataProblem } from './byte-source.js';
import { describe } from './pickle.js';
import { type Checkpoint, readAt } from './torch-checkpoint.js';
import { readLegacyCheckpoint } from './torch-legacy.js';
import { TensorRef } from './torch-pickle.js';
import { checkView, materialize } from './torch-tensors.js';
import { readZipCheckpoint } from './torch-zip.js';

/**
 * Reads a PyTorch checkpoint (`pytorch_model.bin`: `torch.save(model.state_dict())`, zip or legacy layout)
 * into the raw tensors safetensors.ts's readSafetensorsRaw gives, so a loader takes either file:
 * name → {dtype, shape, data}, floats (F32, F16, BF16) as Float32Array, integers (I64 when the values fit,
 * I32, I16, I8, U8) as Int32Array, every view made contiguous. Never runs the pickle (see pickle.ts).
 *
 * Memory: the file is never loaded whole; one storage record at a time is read into a buffer that becomes a
 * float32 tensor's data when nothing else uses it, so the peak is the tensors plus one record.
 */
export async function readTorchBin(file: string): Promise<SafetensorsFile> {
  let handle: FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (e) {
    throw new InputError(file, undefined, 'a readable torch.save checkpoint', (e as Error).message);
  }
  try {
    const { size } = await handle.stat();
    const checkpoint = await open(file, handle, size);
    const tensors = await readTensors(handle, checkpoint, size);
    return { tensors, metadata: { format: 'pt', layout: checkpoint.layout } };
  } catch (e) {
    if (e instanceof DataProblem) throw new InputError(file, undefined, e.expected, e.got);
    throw e;
  } finally {
    await handle.close();
  }
}

/** Tells the layout by the first bytes and parses the pickles. */
async function open(file: string, handle: FileHandle, size: number): Promise<Checkpoint> {
  const head = await readAt(handle, 0, Math.min(size, 512));
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return readZipCheckpoint(file, handle, size); // "PK\3\4"
  if (head[0] === 0x80) return readLegacyCheckpoint(file, handle.fd, size); // pickle PROTO
  if (new TextDecoder().decode(head.subarray(257, 262)) === 'ustar') {
    throw new DataProblem('a torch.save checkpoint (zip or legacy layout)', 'a tar archive (the layout of PyTorch < 0.4, not read here)');
  }
  const hex = Buffer.from(head.subarray(0, 8)).toString('hex');
  throw new DataProblem('a torch.save checkpoint: a zip archive ("PK\\3\\4") or a legacy pickle (0x80 …)', size === 0 ? 'an empty file' : `a file starting with 0x${hex}`);
}

/** The top-level dict's tensors, read one storage record at a time, in the pickle's key order. */
async function readTensors(handle: FileHandle, checkpoint: Checkpoint, fileSize: number): Promise<Map<string, RawTensor>> {
  const object = checkpoint.object;
  if (!(object instanceof Map)) throw new DataProblem('a dict of tensors at the top level (torch.save(model.state_dict()))', describe(object));
  const byStorage = new Map<string, [string, TensorRef][]>();
  let outBytes = 0;
  for (const [name, t] of object) {
    if (typeof name !== 'string') throw new DataProblem('str keys in the top-level dict', describe(name));
    if (!(t instanceof TensorRef)) throw new DataProblem(`a tensor under '${name}' in the top-level dict`, describe(t));
    outBytes += 4 * checkView(name, t);
    const group = byStorage.get(t.storage.key) ?? [];
    group.push([name, t]);
    byStorage.set(t.storage.key, group);
  }
  const located = [];
  for (const key of byStorage.keys()) located.push({ key, at: await checkpoint.locate(key) });
  // Views checked above never exceed their storage, but many views of one storage could still multiply it:
  // float32/int32 output is at most 4× the element bytes (int8), twice over for a tied weight.
  if (outBytes > 8 * fileSize + (1 << 20)) {
    throw new DataProblem(`tensors of at most 8× the file's ${fileSize} bytes`, `views totalling ${outBytes} bytes (a weights file has no such overlaps)`);
  }
  located.sort((a, b) => a.at.offset - b.at.offset); // read the file front to back
  const read = new Map<string, RawTensor>();
  for (const { key, at } of located) {
    const record = await readAt(handle, at.offset, at.nbytes);
    const group = byStorage.get(key)!;
    for (const [name, t] of group) read.set(name, materialize(name, t, record, group.length === 1));
  }
  return new Map([...object.keys()].map((name) => [name as string, read.get(name as string)!])); // the pickle's order
}
