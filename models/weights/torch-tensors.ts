import os from 'node:os';
import type { RawTensor } from './safetensors.js';
import { DataProblem } from './byte-source.js';
import { ELEMENT_BYTES, type TensorRef, type TorchDtype } from './torch-pickle.js';

/**
 * Tensors out of storage bytes as torch rebuilds them (`tensor.set_(storage, offset, size, stride)`), made
 * contiguous, floats widened to float32 and integers to int32, like safetensors.ts does.
 * Storage bytes are little-endian (the readers refuse big-endian checkpoints) and read here through typed
 * arrays, so the host must be little-endian too.
 */

/** The dtypes read; the others (F64, BOOL, complex) are refused like safetensors refuses them. */
const READABLE: ReadonlySet<TorchDtype> = new Set(['F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8']);

/** Element count of a tensor after checking it lies inside its storage view of `nbytes` bytes. */
export function checkView(name: string, t: TensorRef): number {
  if (!READABLE.has(t.dtype)) throw new DataProblem(`tensor '${name}' with dtype F32, F16, BF16, I64, I32, I16, I8 or U8`, `dtype ${t.dtype}`);
  const el = ELEMENT_BYTES[t.dtype];
  const numel = t.size.reduce((a, b) => a * b, 1);
  const have = Math.floor(t.storage.nbytes / el);
  if (numel === 0) return 0;
  // A view with more elements than its storage overlaps itself (stride 0, expand): never in a weights file,
  // and materializing it could take any amount of memory.
  if (numel > have) throw new DataProblem(`tensor '${name}' [${t.size}] to be no larger than its storage '${t.storage.key}' (${have} ${t.dtype} elements)`, `${numel} elements`);
  const last = t.size.reduce((acc, s, d) => acc + (s - 1) * t.stride[d], t.offset);
  if (last >= have) {
    throw new DataProblem(`storage '${t.storage.key}' to hold tensor '${name}' (size [${t.size}], stride [${t.stride}], offset ${t.offset}: ${last + 1} ${t.dtype} elements)`, `${have} elements`);
  }
  return numel;
}

/** True when the view reads `numel` consecutive elements from `offset`. */
function isContiguous(t: TensorRef): boolean {
  let expect = 1;
  for (let d = t.size.length - 1; d >= 0; d--) {
    if (t.size[d] !== 1 && t.stride[d] !== expect) return false;
    expect *= t.size[d];
  }
  return true;
}

/** Word arrays for copying elements of `el` bytes: bytes, 16-bit, or `el / 4` 32-bit words. */
function words(b: Uint8Array, el: number): { a: Uint8Array | Uint16Array | Uint32Array; k: number } {
  if (el === 1) return { a: b, k: 1 };
  if (el === 2) return { a: new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2), k: 1 };
  return { a: new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4), k: el / 4 };
}

/** Copies a strided view's elements into a new contiguous byte array (row-major). */
function gather(storage: Uint8Array, t: TensorRef, numel: number): Uint8Array {
  const el = ELEMENT_BYTES[t.dtype];
  const out = new Uint8Array(numel * el);
  const { a: src, k } = words(storage, el);
  const { a: dst } = words(out, el);
  const nd = t.size.length;
  const inner = nd === 0 ? 1 : t.size[nd - 1];
  const innerStride = nd === 0 ? 0 : t.stride[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let base = t.offset; // source element of the current row's first element
  for (let o = 0; o < numel; o += inner) {
    for (let j = 0; j < inner; j++) {
      const s = (base + j * innerStride) * k;
      const d = (o + j) * k;
      for (let w = 0; w < k; w++) dst[d + w] = src[s + w];
    }
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      base += t.stride[d];
      if (idx[d] < t.size[d]) break;
      base -= t.stride[d] * t.size[d];
      idx[d] = 0;
    }
  }
  return out;
}

let halfTable: Uint32Array | undefined;

/**
 * float32 bits of every float16 bit pattern, as PyTorch's half-to-float conversion gives them: exact for
 * numbers, infinities kept, NaN payloads kept with the quiet bit set (torch quiets signalling NaNs).
 */
export function halfToFloatBits(): Uint32Array {
  if (halfTable) return halfTable;
  const table = new Uint32Array(65536);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) table[h] = (sign | 0x7f800000 | (mant ? 0x400000 | (mant << 13) : 0)) >>> 0;
    else if (exp === 0) {
      f[0] = mant * 2 ** -24; // subnormal halves are normal floats: exact
      table[h] = (sign | bits[0]) >>> 0;
    } else table[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  }
  halfTable = table;
  return table;
}

/**
 * Widens `numel` contiguous little-endian elements to float32 or int32. With `adopt`, `bytes` spans its
 * whole buffer and nobody else uses it, so an F32/I32 result is that buffer itself (no copy).
 */
function decode(name: string, bytes: Uint8Array, dtype: TorchDtype, numel: number, adopt: boolean): Float32Array | Int32Array {
  const whole = adopt && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const el = ELEMENT_BYTES[dtype];
  // Typed views need aligned offsets; storage views start at multiples of the element size, so this copy is a guard.
  const b = bytes.byteOffset % el === 0 ? bytes : bytes.slice();
  switch (dtype) {
    case 'F32': return whole ? new Float32Array(b.buffer, 0, numel) : new Float32Array(b.slice().buffer, 0, numel);
    case 'I32': return whole ? new Int32Array(b.buffer, 0, numel) : new Int32Array(b.slice().buffer, 0, numel);
    case 'F16': {
      const table = halfToFloatBits();
      const src = new Uint16Array(b.buffer, b.byteOffset, numel);
      const out = new Uint32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = table[src[i]];
      return new Float32Array(out.buffer);
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const src = new Uint16Array(b.buffer, b.byteOffset, numel);
      const out = new Uint32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = src[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'I64': {
      const src = new Int32Array(b.buffer, b.byteOffset, 2 * numel); // [low, high] word pairs
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) {
        const lo = src[2 * i];
        if (src[2 * i + 1] !== lo >> 31) {
          const v = (BigInt(src[2 * i + 1]) << 32n) | BigInt(lo >>> 0);
          throw new DataProblem(`int64 tensor '${name}' with values that fit int32`, `${v} at element ${i}`);
        }
        out[i] = lo;
      }
      return out;
    }
    case 'I16': return Int32Array.from(new Int16Array(b.buffer, b.byteOffset, numel));
    case 'I8': return Int32Array.from(new Int8Array(b.buffer, b.byteOffset, numel));
    case 'U8': return Int32Array.from(b.subarray(0, numel));
    default: throw new DataProblem(`tensor '${name}' with a readable dtype`, dtype);
  }
}

/**
 * The tensor `t` (already checked by `checkView`) from `record`, the bytes of its whole storage record.
 * `sole`: no other tensor uses the record, so its buffer may become this tensor's data.
 */
export function materialize(name: string, t: TensorRef, record: Uint8Array, sole: boolean): RawTensor {
  if (os.endianness() !== 'LE') throw new Error('reading torch checkpoints needs a little-endian host');
  const numel = checkView(name, t);
  const el = ELEMENT_BYTES[t.dtype];
  const storage = record.subarray(t.storage.byteOffset, t.storage.byteOffset + t.storage.nbytes);
  let bytes: Uint8Array;
  let adopt: boolean;
  if (isContiguous(t)) {
    bytes = storage.subarray(t.offset * el, (t.offset + numel) * el);
    adopt = sole;
  } else {
    bytes = gather(storage, t, numel);
    adopt = true;
  }
  return { dtype: t.dtype, shape: [...t.size], data: decode(name, bytes, t.dtype, numel, adopt) };
}
