import type { FileHandle } from 'node:fs/promises';
import yauzl from 'yauzl';
import { InputError } from '../../common/errors.js';
import { BufferSource, DataProblem } from './byte-source.js';
import { unpickle } from './pickle.js';
import { type Checkpoint, readAt, type StorageLocation } from './torch-checkpoint.js';
import { ELEMENT_BYTES, StorageRef, storageId, torchHooks } from './torch-pickle.js';

/**
 * The zip layout torch.save writes since PyTorch 1.6: entries under one top folder `<name>/` (any name:
 * `archive`, or the file's stem): `data.pkl` (the object pickle; persistent ids
 * `('storage', StorageClass, key, location, numel)`), `data/<key>` (each storage's raw bytes),
 * `byteorder` (`little` or `big`; absent in files older than 1.12, which are little-endian), `version`.
 * Entries are STORED (uncompressed), so a storage is read straight from the file at its data offset.
 *
 * yauzl reads the central directory from the file descriptor (the file is never loaded whole) and gives each
 * entry's data offset from its local header. Problems are thrown as DataProblem (readTorchBin names the file).
 */

const EXPECTED = 'a zip archive as torch.save writes it (PyTorch >= 1.6)';

export async function readZipCheckpoint(file: string, handle: FileHandle, fileSize: number): Promise<Checkpoint> {
  const entries = new Map<string, yauzl.Entry>();
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromFdPromise(handle.fd, { autoClose: false, lazyEntries: true, strictFileNames: true, validateEntrySizes: true });
    for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
  } catch (e) {
    throw new InputError(file, undefined, EXPECTED, (e as Error).message);
  }
  const first = [...entries.keys()][0] ?? '';
  const slash = first.indexOf('/');
  if (slash <= 0) throw new InputError(file, undefined, `${EXPECTED}: entries under one folder`, first ? `the entry ${JSON.stringify(first)}` : 'an empty archive');
  const prefix = first.slice(0, slash);
  if (entries.has(`${prefix}/constants.pkl`)) {
    throw new InputError(file, undefined, 'a torch.save checkpoint', 'a TorchScript archive (torch.jit.save): load it in Python and torch.save its state_dict()');
  }

  /** Bytes of a stored entry, read at its data offset after checking they lie inside the file. */
  const locate = async (name: string): Promise<{ entry: yauzl.Entry; offset: number }> => {
    const entry = entries.get(name);
    if (!entry) throw new DataProblem(`the entry ${name} in the zip`, 'no such entry (damaged or edited archive?)');
    if (entry.compressionMethod !== 0 || entry.isEncrypted()) {
      throw new DataProblem(`${name} stored uncompressed, as torch.save writes it`, `compression method ${entry.compressionMethod}${entry.isEncrypted() ? ', encrypted' : ''}`);
    }
    let offset: number;
    try {
      offset = (await zip.readLocalFileHeaderPromise(entry, { minimal: true })).fileDataStart;
    } catch (e) {
      throw new DataProblem(`a local header for ${name}`, `${(e as Error).message} (truncated?)`);
    }
    if (offset + entry.uncompressedSize > fileSize) {
      throw new DataProblem(`${entry.uncompressedSize} bytes of ${name} at byte ${offset}`, `a file of ${fileSize} bytes (truncated?)`);
    }
    return { entry, offset };
  };
  const record = async (name: string): Promise<Uint8Array> => {
    const { entry, offset } = await locate(name);
    return readAt(handle, offset, entry.uncompressedSize);
  };

  if (entries.has(`${prefix}/byteorder`)) {
    const order = new TextDecoder().decode(await record(`${prefix}/byteorder`));
    if (order === 'big') throw new DataProblem('little-endian storages (byteorder "little")', 'byteorder "big": re-save the checkpoint on a little-endian machine');
    if (order !== 'little') throw new DataProblem(`${prefix}/byteorder "little" or "big"`, JSON.stringify(order.slice(0, 20)));
  }
  const pkl = `${prefix}/data.pkl`;
  const storages = new Map<string, StorageRef>();
  const object = unpickle(new BufferSource(await record(pkl)), torchHooks((pid) => {
    const { type, key, numel } = storageId(pid, 5);
    // torch.load keeps the first storage object per key, whatever class a later id names.
    let s = storages.get(key);
    if (!s) storages.set(key, (s = new StorageRef(key, type.dtype, 0, numel * ELEMENT_BYTES[type.dtype])));
    return s;
  }), { file, label: pkl });

  return {
    layout: 'zip',
    object,
    async locate(key: string): Promise<StorageLocation> {
      const name = `${prefix}/data/${key}`;
      const nbytes = storages.get(key)!.nbytes;
      const { entry, offset } = await locate(name);
      if (entry.uncompressedSize !== nbytes) {
        throw new DataProblem(`${name} of ${nbytes} bytes (the size data.pkl gives storage '${key}')`, `${entry.uncompressedSize} bytes`);
      }
      return { offset, nbytes };
    },
  };
}
