import { existsSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../../common/paths.js';
import { type RawTensor, readSafetensorsRaw } from './safetensors.js';
import { legacyFile, pickle, type PickleWriter, readZipEntries, writeZip } from './testing.js';
import { readTorchBin } from './torch-bin.js';

const GOLDEN = sharedPath('goldens', 'torch-bin');
const bin = (fixture: string, layout: string) => path.join(GOLDEN, fixture, layout, 'pytorch_model.bin');
const testdata = (name: string) => path.join(import.meta.dirname, 'testdata', name);

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'torch-bin-'));
});
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

/** Writes `bytes` to a fresh file in the temp dir and reads it as a checkpoint. */
let n = 0;
async function read(bytes: Uint8Array): Promise<Map<string, RawTensor>> {
  const file = path.join(tmp, `case-${n++}.bin`);
  await fsp.writeFile(file, bytes);
  return (await readTorchBin(file)).tensors;
}

const bytesOf = (a: Float32Array | Int32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Every tensor of `got` has the name, shape and exact bits of `want`'s. */
function expectSameTensors(got: Map<string, RawTensor>, want: Map<string, { shape: number[]; data: Float32Array | Int32Array }>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [name, w] of want) {
    const g = got.get(name)!;
    expect([name, g.shape]).toEqual([name, w.shape]);
    expect(g.data.constructor).toBe(w.data.constructor);
    expect(bytesOf(g.data).equals(bytesOf(w.data)), `bits of ${name}`).toBe(true);
  }
}

/** float32 → float16 with round-to-nearest-even → float32: what torch's .half().float() gives a finite value. */
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);
function roundToHalf(x: number): number {
  scratch[0] = x;
  const bits = scratchBits[0];
  const exp = ((bits >>> 23) & 0xff) - 127;
  const spacing = 2 ** (Math.max(exp, -14) - 10); // half grid step at |x| (subnormal below 2^-14)
  const q = Math.abs(x) / spacing; // exact: division by a power of two
  const f = Math.floor(q);
  const r = q - f > 0.5 || (q - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  const v = r * spacing >= 65520 ? Infinity : r * spacing;
  return bits >>> 31 ? -v : v; // keeps the sign of zero
}

describe('readTorchBin: goldens', () => {
  for (const [fixture, layouts] of [['distilbert-tiny', ['zip-f32', 'legacy-f32', 'zip-f32-views']], ['bert-cat-tiny', ['zip-f32', 'legacy-f32']]] as const) {
    for (const layout of layouts) {
      it(`${fixture}/${layout} holds exactly the tensors of ${fixture}/model.safetensors`, async () => {
        const got = await readTorchBin(bin(fixture, layout));
        expect(got.metadata.layout).toBe(layout.startsWith('zip') ? 'zip' : 'legacy');
        expectSameTensors(got.tensors, (await readSafetensorsRaw(sharedPath('goldens', fixture, 'model.safetensors'))).tensors);
      });
    }
  }

  it('distilbert-tiny/zip-f16 gives the float32 values rounded to half, bit for bit', async () => {
    const got = await readTorchBin(bin('distilbert-tiny', 'zip-f16'));
    const f32 = (await readSafetensorsRaw(sharedPath('goldens', 'distilbert-tiny', 'model.safetensors'))).tensors;
    const want = new Map([...f32].map(([name, t]) => [name, { shape: t.shape, data: Float32Array.from(t.data, roundToHalf) }]));
    expectSameTensors(got.tensors, want);
    expect(new Set([...got.tensors.values()].map((t) => t.dtype))).toEqual(new Set(['F16']));
    // The rounding is not a no-op on these weights.
    const w = 'embeddings.word_embeddings.weight';
    expect(bytesOf(got.tensors.get(w)!.data).equals(bytesOf(f32.get(w)!.data))).toBe(false);
  });

  it('refuses distilbert-tiny/malicious naming posix.system', async () => {
    await expect(readTorchBin(bin('distilbert-tiny', 'malicious'))).rejects.toThrow(
      /malicious\/pytorch_model\.bin: expected only the globals of a weights file .*, got the global posix\.system, refused \(nothing was run\) \(archive\/data\.pkl, opcode at byte 13\)/,
    );
  });

  it('never runs a payload: a checkpoint whose pickle would create a file leaves no file', async () => {
    const marker = path.join(tmp, 'payload-ran');
    const payload = (w: PickleWriter) => w.dict().str('x').call('posix', 'system', (a) => a.str(`touch ${marker}`)).raw(0x73);
    const zip = writeZip([['archive/data.pkl', pickle(payload)], ['archive/version', Buffer.from('3\n')]]);
    await expect(read(zip)).rejects.toThrow(/got the global posix\.system, refused/);
    const legacy = legacyFile(pickle(payload), []);
    await expect(read(legacy)).rejects.toThrow(/got the global posix\.system, refused \(nothing was run\) \(the object pickle, opcode at byte \d+\)/);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('readTorchBin: what published checkpoints hold (fixtures torch wrote, see testdata/make_fixtures.py)', () => {
  const expected = async () => {
    const json = JSON.parse(await fsp.readFile(testdata('features.json'), 'utf8')) as Record<string, { shape: number[]; bits?: string[]; values?: number[] }>;
    return new Map(Object.entries(json).map(([name, e]) => [name, {
      shape: e.shape,
      data: e.bits ? new Float32Array(Uint32Array.from(e.bits, (h) => parseInt(h, 16)).buffer) : Int32Array.from(e.values!),
    }]));
  };
  for (const layout of ['zip', 'legacy']) {
    it(`${layout}: int64 buffer, bf16, f16 specials, tied weights, offset and strided views, 0-d, empty, small ints, Parameter: as torch.load gives them`, async () => {
      const got = await readTorchBin(testdata(`features-${layout}.bin`));
      expectSameTensors(got.tensors, await expected());
      expect(got.tensors.get('embeddings.position_ids')!.dtype).toBe('I64');
      // Tied weights are two tensors with their own data.
      expect(got.tensors.get('tied_a')!.data).not.toBe(got.tensors.get('tied_b')!.data);
    });
  }

  it('refuses an int64 value that does not fit int32, naming the tensor', async () => {
    await expect(readTorchBin(testdata('int64-overflow-zip.bin'))).rejects.toThrow(/int64-overflow-zip\.bin: expected int64 tensor 'ids' with values that fit int32, got 1099511627776 at element 1/);
  });
});

describe('readTorchBin: malformed files are one clear InputError naming the file', () => {
  let zip: Map<string, Buffer>;
  let legacy: Buffer;
  beforeAll(async () => {
    zip = await readZipEntries(bin('distilbert-tiny', 'zip-f32'));
    legacy = await fsp.readFile(bin('distilbert-tiny', 'legacy-f32'));
  });
  const PKL = 'pytorch_model/data.pkl';
  /** The golden zip's entries with some replaced (undefined: removed) or added. */
  const edited = (changes: Record<string, Uint8Array | undefined>, method = 0): Buffer => {
    const entries = new Map<string, Uint8Array | undefined>([...zip, ...Object.entries(changes)]);
    return writeZip([...entries].filter((e): e is [string, Uint8Array] => e[1] !== undefined), method);
  };
  /** A data.pkl of one tensor 'w' over the golden's storage '0' (32 floats). */
  const oneTensor = (t: { storage?: string; numel?: number; offset?: number; size?: number[] }) =>
    pickle((w) => w.stateDict([['w', (v) => v.tensor({ storage: t.storage ?? 'FloatStorage', key: '0', numel: t.numel ?? 32, offset: t.offset, size: t.size ?? [32], stride: [1] })]]));

  it('the rebuilt golden zip reads (the edits below are the only difference)', async () => {
    expect((await read(edited({}))).size).toBe(36);
  });

  it('zip layout', async () => {
    const golden = await fsp.readFile(bin('distilbert-tiny', 'zip-f32'));
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated zip', golden.subarray(0, golden.length >> 1), /expected a zip archive as torch\.save writes it \(PyTorch >= 1\.6\), got End of central directory record signature not found\. Either not a zip file, or file is truncated\./],
      ['missing storage entry', edited({ 'pytorch_model/data/3': undefined }), /expected the entry pytorch_model\/data\/3 in the zip, got no such entry/],
      ['unknown opcode', edited({ [PKL]: Buffer.from(zip.get(PKL)!).fill(0xff, 2, 3) }), /expected a pickle opcode this reader supports, got opcode 0xff \(pytorch_model\/data\.pkl, opcode at byte 2\)/],
      ['truncated pickle', edited({ [PKL]: zip.get(PKL)!.subarray(0, 1000) }), /expected 42 bytes of string data, got only 33 left \(truncated\?\) \(pytorch_model\/data\.pkl, opcode at byte 962\)/],
      ['pickle cut after PROTO', edited({ [PKL]: zip.get(PKL)!.subarray(0, 2) }), /expected 1 more byte\(s\) at byte 2, got the end of the data \(truncated\?\) \(pytorch_model\/data\.pkl, opcode at byte 2\)/],
      ['storage smaller than the view', edited({ [PKL]: oneTensor({ offset: 1 }) }), /expected storage '0' to hold tensor 'w' \(size \[32\], stride \[1\], offset 1: 33 F32 elements\), got 32 elements/],
      ['view larger than the storage', edited({ [PKL]: oneTensor({ size: [64] }) }), /expected tensor 'w' \[64\] to be no larger than its storage '0'/],
      ['storage record of the wrong size', edited({ [PKL]: oneTensor({ numel: 64 }) }), /expected pytorch_model\/data\/0 of 256 bytes \(the size data\.pkl gives storage '0'\), got 128 bytes/],
      ['unsupported dtype', edited({ [PKL]: oneTensor({ storage: 'DoubleStorage', numel: 16, size: [16] }) }), /expected tensor 'w' with dtype F32, F16, BF16, I64, I32, I16, I8 or U8, got dtype F64/],
      ['unknown storage class', edited({ [PKL]: oneTensor({ storage: 'QInt8Storage' }) }), /got the global torch\.QInt8Storage, refused/],
      ['non-dict top level', edited({ [PKL]: pickle((w) => w.list()) }), /expected a dict of tensors at the top level \(torch\.save\(model\.state_dict\(\)\)\), got a list of 0/],
      ['non-tensor value', edited({ [PKL]: pickle((w) => w.dict().mark().str('epoch').int(3).setitems()) }), /expected a tensor under 'epoch' in the top-level dict, got the int 3/],
      ['big-endian', edited({ 'pytorch_model/byteorder': Buffer.from('big') }), /expected little-endian storages \(byteorder "little"\), got byteorder "big": re-save the checkpoint on a little-endian machine/],
      ['compressed entries', edited({}, 8), /expected pytorch_model\/data\.pkl stored uncompressed, as torch\.save writes it, got compression method 8/],
      ['TorchScript archive', edited({ 'pytorch_model/constants.pkl': pickle((w) => w.none()) }), /expected a torch\.save checkpoint, got a TorchScript archive \(torch\.jit\.save\)/],
    ];
    for (const [what, bytes, message] of cases) {
      const file = path.join(tmp, `${what.replaceAll(' ', '-')}.bin`);
      await fsp.writeFile(file, bytes);
      const err = await readTorchBin(file).then(() => undefined, (e: Error) => e);
      expect(err?.name, what).toBe('InputError');
      expect(err?.message, what).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
      expect(err?.message, what).toMatch(message);
    }
  });

  it('legacy layout', async () => {
    const flip = (at: number, value: number) => Buffer.from(legacy).fill(value, at, at + 1);
    const tensorW = (size: number[], extra?: { view?: [string, number, number]; storage?: string; numel?: number }) =>
      pickle((w) => w.stateDict([['w', (v) => v.tensor({ storage: extra?.storage ?? 'FloatStorage', key: 'k', numel: extra?.numel ?? 4, size, stride: [1], legacy: true, view: extra?.view })]]));
    const four = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated in the object pickle', legacy.subarray(0, 2000), /got the end of the data \(truncated\?\) \(the object pickle, opcode at byte \d+\)/],
      ['truncated in the storages', legacy.subarray(0, legacy.length - 100), /expected 128 bytes of storage '\d+' at byte 4045861, got a file of 4045889 bytes \(truncated\?\)/],
      ['wrong magic number', flip(5, 0x00), /expected a torch\.save file \(a zip archive, or the legacy magic number 0x1950a86a20f9469cfc6c\), got the int \d+/],
      ['big-endian', flip(73, 0x89), /expected a checkpoint saved on a little-endian machine \(sys_info little_endian True\), got little_endian False/],
      ['wrong storage size header', legacyFile(tensorW([4]), [['k', 5, four]]), /expected storage 'k' of 4 F32 elements \(from the object pickle\), got a size header of 5 at byte \d+/],
      ['storage missing from the key list', legacyFile(tensorW([4]), []), /expected storage 'k' in the storage key list, got a list without it/],
      ['view outside its storage', legacyFile(tensorW([4], { view: ['v', 2, 4] }), [['k', 4, four]]), /expected view metadata \(key, offset, size\) inside storage 'k' of 4 elements/],
      ['a pickled module', legacyFile(pickle((w) => w.mark().str('module').none().none().none().tuple().persid()), []), /got a pickled nn\.Module \(torch\.save\(model\)\); save model\.state_dict\(\) instead/],
      ['non-dict top level', legacyFile(pickle((w) => w.list()), []), /expected a dict of tensors at the top level/],
    ];
    for (const [what, bytes, message] of cases) {
      const err = await read(bytes).then(() => undefined, (e: Error) => e);
      expect(err?.name, what).toBe('InputError');
      expect(err?.message, what).toMatch(message);
    }
    // Legacy storage views (PyTorch < 1.0): a tensor over elements 1..2 of a 4-element storage.
    const t = await read(legacyFile(tensorW([2], { view: ['v', 1, 2] }), [['k', 4, four]]));
    expect([...t.get('w')!.data]).toEqual([2, 3]);
  });

  it('not a checkpoint at all', async () => {
    const tar = Buffer.alloc(1024);
    tar.write('ustar', 257);
    const cases: [Uint8Array, RegExp][] = [
      [Buffer.alloc(0), /expected a torch\.save checkpoint: a zip archive \("PK\\3\\4"\) or a legacy pickle \(0x80 …\), got an empty file/],
      [Buffer.from('hello world'), /got a file starting with 0x68656c6c6f20776f/],
      [await fsp.readFile(sharedPath('goldens', 'distilbert-tiny', 'model.safetensors')), /got a file starting with 0x/],
      [tar, /got a tar archive \(the layout of PyTorch < 0\.4, not read here\)/],
    ];
    for (const [bytes, message] of cases) await expect(read(bytes)).rejects.toThrow(message);
    await expect(readTorchBin(path.join(tmp, 'absent.bin'))).rejects.toThrow(/absent\.bin: expected a readable torch\.save checkpoint, got ENOENT/);
  });
});
