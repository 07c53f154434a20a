import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackend } from '../engine/testing.js';
import { halfToFloat, parseSafetensors, readSafetensors, readSafetensorsRaw, writeSafetensors } from './safetensors.js';

let tmp: string;
testBackend();
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'safetensors-'));
});
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

/** A file from a header object and raw data bytes, as the format defines it. */
function build(header: unknown, data: number[] | Uint8Array): Uint8Array {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.from(data)]);
}

describe('safetensors', () => {
  it('round-trips float32 and int32 tensors bit for bit, header aligned to 8 bytes', async () => {
    const file = path.join(tmp, 'a.safetensors');
    const odd = new Float32Array([1.5, -0, NaN, 3.4028234663852886e38, 1e-45]);
    await writeSafetensors(file, new Map<string, tf.Tensor>([['b.weight', tf.tensor2d([[1, 2, 3], [4, 5, 6]])], ['a', tf.tensor1d(odd)], ['ids', tf.tensor1d([7, -8], 'int32')]]));
    const bytes = await fsp.readFile(file);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    const { tensors, metadata } = await readSafetensorsRaw(file);
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()]).toEqual(['a', 'b.weight', 'ids']);
    expect(tensors.get('b.weight')).toEqual({ dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
    expect(Buffer.from(tensors.get('a')!.data.buffer)).toEqual(Buffer.from(odd.buffer));
    expect(tensors.get('ids')).toEqual({ dtype: 'I32', shape: [2], data: new Int32Array([7, -8]) });
    const t = await readSafetensors(file);
    expect(t.get('ids')!.dtype).toBe('int32');
    expect(t.get('b.weight')!.arraySync()).toEqual([[1, 2, 3], [4, 5, 6]]);
    tf.dispose([...t.values()]);
  });

  it('widens F16, BF16 and I64 exactly', () => {
    // F16: 0x3c00 = 1, 0xc000 = -2, 0x0001 = 2^-24 (subnormal), 0x7bff = 65504; BF16 0x3fc0 = 1.5; I64 -3
    const f16 = [0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0xff, 0x7b];
    const bf16 = [0xc0, 0x3f];
    const i64 = [0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const file = build({ h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] }, b: { dtype: 'BF16', shape: [1], data_offsets: [8, 10] }, i: { dtype: 'I64', shape: [1], data_offsets: [10, 18] } }, [...f16, ...bf16, ...i64]);
    const { tensors } = parseSafetensors(file, 'x.safetensors');
    expect([...tensors.get('h')!.data]).toEqual([1, -2, 2 ** -24, 65504]);
    expect([...tensors.get('b')!.data]).toEqual([1.5]);
    expect(tensors.get('i')!.data).toEqual(new Int32Array([-3]));
    expect(halfToFloat(0x7c00)).toBe(Infinity);
  });

  it('rejects bad files with the file name and the problem', () => {
    const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    expect(() => parseSafetensors(new Uint8Array(5), 'm.safetensors')).toThrow(/^m\.safetensors: expected an 8-byte header length.*got a file of 5 bytes/);
    const long = Buffer.alloc(16);
    long.writeBigUInt64LE(1000n);
    expect(() => parseSafetensors(long, 'm.safetensors')).toThrow(/m\.safetensors: expected a header of 1000 bytes.*only 8 bytes/);
    expect(() => parseSafetensors(build(ok, new Array(4).fill(0)), 'm.safetensors')).toThrow(/tensor 'w' within the data buffer of 4 bytes, got data_offsets \[0, 8\]/);
    expect(() => parseSafetensors(build({ w: { ...ok.w, dtype: 'Q4' } }, new Array(8).fill(0)), 'm.safetensors')).toThrow(/tensor 'w' with dtype F32.*got dtype "Q4"/);
    expect(() => parseSafetensors(build({ w: { ...ok.w, shape: [3] } }, new Array(12).fill(0)), 'm.safetensors')).toThrow(/F32\[3\] to span 12 bytes, got data_offsets \[0, 8\]/);
    const notJson = Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{x}')]);
    expect(() => parseSafetensors(notJson, 'm.safetensors')).toThrow(/expected a JSON header/);
  });
});
