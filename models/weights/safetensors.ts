import { promises as fsp } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../../common/atomic.js';
import { InputError } from '../../common/errors.js';

/**
 * HuggingFace safetensors, read and written here by hand: no maintained safetensors package exists on npm,
 * and the format is small (https://github.com/huggingface/safetensors#format):
 *   8 bytes   N, unsigned little-endian 64-bit: the header's length
 *   N bytes   UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}
 *   rest      the data buffer; offsets are relative to its start, tensors are row-major little-endian.
 * Floats come back as float32 (F16 and BF16 widened exactly), integers as int32 (I64 values must fit).
 */

/** Element sizes of the dtypes we read. */
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface RawTensor {
  /** The dtype on disk (F32, F16, BF16, ...). */
  dtype: string;
  shape: number[];
  /** The values, widened to float32 or int32. */
  data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** Parses a safetensors file without creating tfjs tensors (so a loader can check shapes first). */
export async function readSafetensorsRaw(file: string): Promise<SafetensorsFile> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    throw new InputError(file, undefined, 'a readable safetensors file', (e as Error).message);
  }
  return parseSafetensors(buf, file);
}

/** Parses safetensors bytes; `file` names the source in errors. */
export function parseSafetensors(buf: Uint8Array, file: string): SafetensorsFile {
  if (buf.byteLength < 8) throw new InputError(file, undefined, 'an 8-byte header length (safetensors)', `a file of ${buf.byteLength} bytes`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(buf.byteLength - 8)) {
    throw new InputError(file, undefined, `a header of ${n} bytes after the length field (safetensors)`, `only ${buf.byteLength - 8} bytes in the file`);
  }
  const headerLen = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new InputError(file, undefined, 'a JSON header (safetensors)', (e as Error).message);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new InputError(file, undefined, 'a JSON object as header (safetensors)');
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
  const tensors = new Map<string, RawTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = String(e.dtype);
    const size = DTYPE_BYTES[dtype];
    if (size === undefined || dtype === 'F64' || dtype === 'BOOL') {
      throw new InputError(file, undefined, `tensor '${name}' with dtype F32, F16, BF16, I64, I32, I16, I8 or U8`, `dtype ${JSON.stringify(e.dtype)}`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new InputError(file, undefined, `tensor '${name}' with a shape of non-negative integers`, JSON.stringify(shape));
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new InputError(file, undefined, `tensor '${name}' with data_offsets [begin, end]`, JSON.stringify(offsets));
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end > dataLen) {
      throw new InputError(file, undefined, `tensor '${name}' within the data buffer of ${dataLen} bytes`, `data_offsets [${begin}, ${end}] (file truncated?)`);
    }
    if (end - begin !== count * size) {
      throw new InputError(file, undefined, `tensor '${name}' ${dtype}[${shape}] to span ${count * size} bytes`, `data_offsets [${begin}, ${end}]`);
    }
    // A copy: the data may be unaligned for a typed-array view, and the file buffer can then be freed.
    const bytes = buf.slice(dataStart + begin, dataStart + end);
    tensors.set(name, { dtype, shape: shape as number[], data: decode(bytes, dtype, count, file, name) });
  }
  return { tensors, metadata };
}

function decode(bytes: Uint8Array, dtype: string, count: number, file: string, name: string): Float32Array | Int32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = v.getFloat32(4 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(v.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift it back in place.
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = v.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const x = v.getBigInt64(8 * i, true);
        if (x > 2147483647n || x < -2147483648n) throw new InputError(file, undefined, `I64 tensor '${name}' with values that fit int32`, String(x));
        out[i] = Number(x);
      }
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = v.getInt32(4 * i, true);
      return out;
    }
    case 'I16': return Int32Array.from({ length: count }, (_, i) => v.getInt16(2 * i, true));
    case 'I8': return Int32Array.from({ length: count }, (_, i) => v.getInt8(i));
    default: return Int32Array.from({ length: count }, (_, i) => v.getUint8(i)); // U8
  }
}

/** IEEE 754 half precision to double (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Reads a safetensors file into tfjs tensors (float32 or int32). The caller owns (disposes) them. */
export async function readSafetensors(file: string): Promise<Map<string, tf.Tensor>> {
  const { tensors } = await readSafetensorsRaw(file);
  const out = new Map<string, tf.Tensor>();
  for (const [name, t] of tensors) out.set(name, tf.tensor(t.data, t.shape, t.data instanceof Float32Array ? 'float32' : 'int32'));
  return out;
}

/**
 * Writes tensors (float32 → F32, int32 → I32) as safetensors, atomically, names sorted, with metadata
 * `{format: pt}` (transformers refuses safetensors files without it). The header is padded with spaces to
 * a multiple of 8 bytes so every tensor starts aligned, as the reference writer does.
 */
export async function writeSafetensors(file: string, tensors: Map<string, tf.Tensor>, metadata: Record<string, string> = { format: 'pt' }): Promise<void> {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`writeSafetensors: tensor '${name}' has dtype ${t.dtype}; only float32 and int32 are written`);
    const values = (await t.data()) as Float32Array | Int32Array; // asynchronous: webgpu cannot read synchronously
    const bytes = new Uint8Array(values.byteLength);
    const v = new DataView(bytes.buffer);
    if (values instanceof Float32Array) for (let i = 0; i < values.length; i++) v.setFloat32(4 * i, values[i], true);
    else for (let i = 0; i < values.length; i++) v.setInt32(4 * i, values[i], true);
    header[name] = { dtype: t.dtype === 'float32' ? 'F32' : 'I32', shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.byteLength));
  await writeFileAtomic(file, Buffer.concat([len, head, ...parts]));
}
