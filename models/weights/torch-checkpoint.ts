import type { FileHandle } from 'node:fs/promises';
import { DataProblem } from './byte-source.js';
import type { PyValue } from './pickle.js';

/** What each torch.save layout (torch-zip.ts, torch-legacy.ts) gives readTorchBin. */
export interface Checkpoint {
  layout: 'zip' | 'legacy';
  /** The unpickled object: for a weights file a dict of TensorRefs. */
  object: PyValue;
  /** Where the bytes of storage record `key` are in the file (checked to lie inside it). */
  locate(key: string): Promise<StorageLocation>;
}

export interface StorageLocation {
  offset: number;
  nbytes: number;
}

/** Node reads at most 2 GiB per call. */
const CHUNK = 1 << 30;

/** `n` bytes at `offset` in a fresh buffer of their own (aligned for typed-array views). */
export async function readAt(handle: FileHandle, offset: number, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await handle.read(out, got, Math.min(n - got, CHUNK), offset + got);
    if (bytesRead === 0) throw new DataProblem(`${n} bytes at byte ${offset}`, `the end of the file after ${got} (truncated?)`);
    got += bytesRead;
  }
  return out;
}
