import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';

/**
 * Test helpers for the torch.save readers: a pickle writer, a STORED zip writer and a zip entry reader, so
 * tests build malformed and hand-made checkpoints from the goldens without Python.
 */

/** Pickle bytes by opcode, as Python's pickler writes them (protocol 2). */
export class PickleWriter {
  private readonly out: number[] = [];

  raw(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }
  proto(p = 2): this { return this.raw(0x80, p); }
  stop(): this { return this.raw(0x2e); }
  mark(): this { return this.raw(0x28); }
  dict(): this { return this.raw(0x7d); }
  list(): this { return this.raw(0x5d); }
  tuple(): this { return this.raw(0x74); }
  emptyTuple(): this { return this.raw(0x29); }
  none(): this { return this.raw(0x4e); }
  bool(b: boolean): this { return this.raw(b ? 0x88 : 0x89); }
  setitems(): this { return this.raw(0x75); }
  appends(): this { return this.raw(0x65); }
  reduce(): this { return this.raw(0x52); }
  build(): this { return this.raw(0x62); }
  persid(): this { return this.raw(0x51); }
  put(i: number): this { return this.raw(0x71, i); }
  get(i: number): this { return this.raw(0x68, i); }

  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 0xff, n >> 8);
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.raw(0x4a, ...b);
  }

  /** LONG1: any int as little-endian two's complement. */
  long(n: bigint): this {
    const bytes: number[] = [];
    let x = n;
    for (;;) {
      const b = Number(x & 0xffn);
      bytes.push(b);
      x >>= 8n; // arithmetic: negative numbers end in -1
      if ((x === 0n && !(b & 0x80)) || (x === -1n && b & 0x80)) break;
    }
    return this.raw(0x8a, bytes.length, ...bytes);
  }

  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    return this.raw(0x58, ...n, ...b);
  }

  global(module: string, name: string): this {
    return this.raw(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }

  /** `module.name(*args)` where `args` writes the argument values. */
  call(module: string, name: string, args: (w: this) => void): this {
    this.global(module, name).mark();
    args(this);
    return this.tuple().reduce();
  }

  /**
   * `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` with the storage as a
   * persistent id: zip ids have 5 fields, legacy ones a 6th (view metadata, None here unless given).
   */
  tensor(t: { storage: string; key: string; numel: number; offset?: number; size: number[]; stride: number[]; legacy?: boolean; view?: [string, number, number] }): this {
    return this.call('torch._utils', '_rebuild_tensor_v2', (w) => {
      w.mark().str('storage').global('torch', t.storage).str(t.key).str('cpu').int(t.numel);
      if (t.legacy) {
        if (t.view) w.mark().str(t.view[0]).int(t.view[1]).int(t.view[2]).tuple();
        else w.none();
      }
      w.tuple().persid().int(t.offset ?? 0);
      w.mark();
      for (const s of t.size) w.int(s);
      w.tuple().mark();
      for (const s of t.stride) w.int(s);
      w.tuple().bool(false).call('collections', 'OrderedDict', () => {});
    });
  }

  /** A dict of name → value writer, the way a state_dict is pickled. */
  stateDict(items: [string, (w: this) => void][]): this {
    this.call('collections', 'OrderedDict', () => {}).mark();
    for (const [k, v] of items) {
      this.str(k);
      v(this);
    }
    return this.setitems();
  }

  bytes(): Buffer {
    return Buffer.from(this.out);
  }
}

/** A complete pickle: PROTO 2, the value, STOP. */
export const pickle = (value: (w: PickleWriter) => void): Buffer => {
  const w = new PickleWriter().proto();
  value(w);
  return w.stop().bytes();
};

/** Every entry of a zip file (name → bytes), read with yauzl. */
export async function readZipEntries(file: string): Promise<Map<string, Buffer>> {
  const zip = await yauzl.openPromise(file, { autoClose: false });
  const out = new Map<string, Buffer>();
  try {
    for await (const entry of zip.eachEntry()) {
      const chunks: Buffer[] = [];
      for await (const c of await zip.openReadStreamPromise(entry)) chunks.push(c as Buffer);
      out.set(entry.fileName, Buffer.concat(chunks));
    }
  } finally {
    zip.close();
  }
  return out;
}

/** A zip with STORED entries (as torch.save writes them), in the given order. */
export function writeZip(entries: [string, Uint8Array][], method = 0): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.byteLength, 18);
    local.writeUInt32LE(data.byteLength, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.byteLength, 20);
    central.writeUInt32LE(data.byteLength, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, Buffer.from(data));
    centrals.push(central, n);
    offset += 30 + n.length + data.byteLength;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/** The header pickles of a legacy file: magic number, protocol 1001, sys_info. */
export function legacyHeader(littleEndian = true): Buffer {
  return Buffer.concat([
    pickle((w) => w.long(0x1950a86a20f9469cfc6cn)),
    pickle((w) => w.int(1001)),
    pickle((w) => w.dict().mark().str('protocol_version').int(1001).str('little_endian').bool(littleEndian).setitems()),
  ]);
}

/** A legacy file: header, object pickle, key list, then each storage as int64 element count + bytes. */
export function legacyFile(object: Buffer, storages: [string, number, Uint8Array][], header = legacyHeader()): Buffer {
  const keys = pickle((w) => {
    w.list().mark();
    for (const [k] of storages) w.str(k);
    w.appends();
  });
  const parts: Buffer[] = [header, object, keys];
  for (const [, numel, data] of storages) {
    const n = Buffer.alloc(8);
    n.writeBigInt64LE(BigInt(numel));
    parts.push(n, Buffer.from(data));
  }
  return Buffer.concat(parts);
}
