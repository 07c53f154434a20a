import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StorageRef, TensorRef, type TorchDtype } from './torch-pickle.js';
import { halfToFloatBits, materialize } from './torch-tensors.js';

const sha256 = (a: ArrayBufferView): string => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

/** A record holding `values` as `dtype` elements, and a tensor over it. */
function view(dtype: TorchDtype, record: ArrayBufferView, size: number[], stride: number[], offset = 0): [TensorRef, Uint8Array] {
  const bytes = new Uint8Array(record.buffer, record.byteOffset, record.byteLength);
  return [new TensorRef(new StorageRef('0', dtype, 0, bytes.byteLength), dtype, offset, size, stride), bytes];
}

const f32 = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

describe('torch tensors', () => {
  it('widens every float16 bit pattern exactly as torch 1.13 half.float() does', () => {
    const table = halfToFloatBits();
    // sha256 of torch.arange(65536).to(int16).view(float16).float().view(int32) bytes (little-endian).
    expect(sha256(table)).toBe('b636c5716ff84d972782faf02d0194cb8951526bea4cc487082feb47b1860ddf');
    expect([0x3c00, 0x0001, 0x8000, 0x7bff, 0xfc00, 0x7c01, 0x7e00].map((h) => table[h].toString(16))).toEqual(
      ['3f800000', '33800000', '80000000', '477fe000', 'ff800000', '7fc02000', '7fc00000'], // 1, 2^-24, -0, 65504, -inf, sNaN quieted, NaN
    );
  });

  it('widens every bfloat16 bit pattern as torch does (the top half of a float32, NaNs kept)', () => {
    const [t, rec] = view('BF16', Uint16Array.from({ length: 65536 }, (_, i) => i), [65536], [1]);
    const out = materialize('b', t, rec, true).data;
    // sha256 of torch.arange(65536).to(int16).view(bfloat16).float().view(int32) bytes.
    expect(sha256(out)).toBe('9207d7eb28680a098c73dbe536d1ff7b94311dc417b9a385e0af6660683e93ca');
  });

  it('honours sizes, strides and the storage offset (views made contiguous)', () => {
    const rec = f32(12); // storage 0..11
    const t = (size: number[], stride: number[], offset = 0) => [...materialize('v', ...view('F32', rec, size, stride, offset), false).data];
    expect(t([4, 3], [1, 4])).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]); // [3,4].t()
    expect(t([2, 2], [4, 1], 5)).toEqual([5, 6, 9, 10]); // [3,4][1:3, 1:3]
    expect(t([2, 3, 2], [1, 4, 2])).toEqual([0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11]); // permuted 3-D
    expect(t([3], [3], 2)).toEqual([2, 5, 8]);
    expect(t([], [], 7)).toEqual([7]); // 0-d
    expect(t([0, 4], [4, 1])).toEqual([]);
    expect(materialize('s', ...view('F32', rec, [], [], 7), false).shape).toEqual([]);
  });

  it('uses the record as a sole contiguous float32 tensor (no copy), and copies when shared', () => {
    const rec = new Uint8Array(f32(4).buffer);
    const [t] = view('F32', rec, [2, 2], [2, 1]);
    expect(materialize('a', t, rec, true).data.buffer).toBe(rec.buffer);
    const shared = materialize('b', t, rec, false).data;
    expect(shared.buffer).not.toBe(rec.buffer);
    expect([...shared]).toEqual([0, 1, 2, 3]);
  });

  it('reads integers as int32: int64 when it fits, else an error naming the tensor', () => {
    const ok = BigInt64Array.from([0n, -1n, 2147483647n, -2147483648n]);
    expect([...materialize('ids', ...view('I64', ok, [4], [1]), true).data]).toEqual([0, -1, 2147483647, -2147483648]);
    expect(() => materialize('ids', ...view('I64', BigInt64Array.from([1n, 2n ** 31n]), [2], [1]), true))
      .toThrow(/expected int64 tensor 'ids' with values that fit int32, got 2147483648 at element 1/);
    expect(() => materialize('ids', ...view('I64', BigInt64Array.from([-(2n ** 40n)]), [1], [1]), true)).toThrow(/got -1099511627776 at element 0/);
    expect([...materialize('i8', ...view('I8', Int8Array.from([-128, 127]), [2], [1]), true).data]).toEqual([-128, 127]);
    expect([...materialize('u8', ...view('U8', Uint8Array.from([0, 255]), [2], [1]), true).data]).toEqual([0, 255]);
    expect([...materialize('i16', ...view('I16', Int16Array.from([-300, 300, 5]), [2], [2]), true).data]).toEqual([-300, 5]);
  });

  it('refuses views outside their storage, self-overlapping views and unsupported dtypes', () => {
    const rec = f32(12);
    const bad = (size: number[], stride: number[], offset = 0, dtype: TorchDtype = 'F32') => () => materialize('w', ...view(dtype, rec, size, stride, offset), true);
    expect(bad([12], [1], 1)).toThrow(/expected storage '0' to hold tensor 'w' \(size \[12\], stride \[1\], offset 1: 13 F32 elements\), got 12 elements/);
    expect(bad([3, 4], [5, 1])).toThrow(/expected storage '0' to hold tensor 'w'.*14 F32 elements/);
    expect(bad([13], [1])).toThrow(/expected tensor 'w' \[13\] to be no larger than its storage '0' \(12 F32 elements\), got 13 elements/);
    expect(bad([1000, 1000], [0, 0])).toThrow(/no larger than its storage/); // an expanded view: refused, not allocated
    expect(bad([2], [1], 0, 'F64')).toThrow(/expected tensor 'w' with dtype F32, F16, BF16, I64, I32, I16, I8 or U8, got dtype F64/);
  });
});
