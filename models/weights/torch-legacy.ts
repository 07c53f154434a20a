import { readSync } from 'node:fs';
import { DataProblem, FileSource } from './byte-source.js';
import { describe, PyTuple, unpickle, type PyValue } from './pickle.js';
import type { Checkpoint, StorageLocation } from './torch-checkpoint.js';
import { ELEMENT_BYTES, plainHooks, StorageRef, storageId, torchHooks, type TorchDtype } from './torch-pickle.js';

/**
 * The layout torch.save wrote before PyTorch 1.6 (and with `_use_new_zipfile_serialization=False`), as
 * torch/serialization.py's `_legacy_load` reads it: five pickles back to back,
 *   the magic number 0x1950a86a20f9469cfc6c, the protocol version 1001, sys_info {little_endian, type_sizes},
 *   the object (persistent ids `('storage', StorageClass, root_key, location, numel, view_metadata)`, where
 *   view_metadata is None or `(view_key, offset, size)` in elements of the root storage),
 *   the list of storage keys,
 * then for each key in that order an int64 element count followed by the storage's raw bytes.
 * The pickles are read through a small window over the file; the storages only by offset.
 * Problems are thrown as DataProblem (readTorchBin names the file).
 */

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL = 1001;

/** A storage root: the record's dtype and size as the first persistent id naming it gave them. */
interface Root {
  dtype: TorchDtype;
  nbytes: number;
}

export function readLegacyCheckpoint(file: string, fd: number, fileSize: number): Checkpoint {
  const src = new FileSource(fd, 0, fileSize);
  const header = (label: string): PyValue => unpickle(src, plainHooks, { file, label });

  const magic = header('the magic number pickle');
  if (magic !== MAGIC) throw new DataProblem('a torch.save file (a zip archive, or the legacy magic number 0x1950a86a20f9469cfc6c)', describe(magic));
  const protocol = header('the protocol version pickle');
  if (protocol !== PROTOCOL) throw new DataProblem(`legacy torch.save protocol ${PROTOCOL}`, describe(protocol));
  const sysInfo = header('the sys_info pickle');
  if (sysInfo instanceof Map && sysInfo.get('little_endian') === false) {
    throw new DataProblem('a checkpoint saved on a little-endian machine (sys_info little_endian True)', 'little_endian False: re-save it on a little-endian machine');
  }

  const roots = new Map<string, Root>();
  const object = unpickle(src, torchHooks((pid) => {
    const { type, key, numel, rest } = storageId(pid, 6);
    let root = roots.get(key);
    if (!root) roots.set(key, (root = { dtype: type.dtype, nbytes: numel * ELEMENT_BYTES[type.dtype] }));
    const view = rest[0];
    if (view === null) return new StorageRef(key, root.dtype, 0, root.nbytes);
    // Storage views (PyTorch < 1.0 shared one storage between views of it): elements of the root's dtype.
    const [, offset, size] = view instanceof PyTuple && view.items.length === 3 ? view.items : [];
    const el = ELEMENT_BYTES[root.dtype];
    if (typeof offset !== 'number' || typeof size !== 'number' || offset < 0 || size < 0 || (offset + size) * el > root.nbytes) {
      throw new DataProblem(`view metadata (key, offset, size) inside storage '${key}' of ${root.nbytes / el} elements`, describe(view));
    }
    return new StorageRef(key, root.dtype, offset * el, size * el);
  }), { file, label: 'the object pickle' });

  const keys = unpickle(src, plainHooks, { file, label: 'the storage key list' });
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new DataProblem('the list of storage keys (str) after the object pickle', describe(keys));

  // Walk the records: each is an int64 element count and the bytes; the count must match the object's.
  const where = new Map<string, StorageLocation>();
  let pos = src.pos;
  const head = new Uint8Array(8);
  for (const key of keys as string[]) {
    const root = roots.get(key);
    if (!root) throw new DataProblem('storage keys the object pickle uses', `the key '${key}', which no tensor uses`);
    if (pos + 8 > fileSize || readSync(fd, head, 0, 8, pos) !== 8) throw new DataProblem(`the size header of storage '${key}' at byte ${pos}`, 'the end of the file (truncated?)');
    const count = new DataView(head.buffer).getBigInt64(0, true);
    const numel = root.nbytes / ELEMENT_BYTES[root.dtype];
    if (count !== BigInt(numel)) throw new DataProblem(`storage '${key}' of ${numel} ${root.dtype} elements (from the object pickle)`, `a size header of ${count} at byte ${pos}`);
    if (pos + 8 + root.nbytes > fileSize) throw new DataProblem(`${root.nbytes} bytes of storage '${key}' at byte ${pos + 8}`, `a file of ${fileSize} bytes (truncated?)`);
    where.set(key, { offset: pos + 8, nbytes: root.nbytes });
    pos += 8 + root.nbytes;
  }

  return {
    layout: 'legacy',
    object,
    async locate(key: string): Promise<StorageLocation> {
      const at = where.get(key);
      if (!at) throw new DataProblem(`storage '${key}' in the storage key list`, 'a list without it (damaged file?)');
      return at;
    },
  };
}
