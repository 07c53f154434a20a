import { readSync } from 'node:fs';

/**
 * Sequential byte input for the unpickler: an in-memory record (a zip checkpoint's data.pkl) or a window
 * over an open file (the legacy layout, whose pickles sit back to back in front of the storages and whose
 * end is only known by parsing them). Reads past the end throw `EndOfData`, never return short.
 */
export interface ByteSource {
  /** Bytes consumed so far (for error messages and, in the legacy layout, where the storages start). */
  readonly pos: number;
  /** Bytes left before the end of the data. */
  readonly remaining: number;
  byte(): number;
  /** The next `n` bytes; the returned array may be reused by the next call, so copy what you keep. */
  take(n: number): Uint8Array;
  /** The bytes up to the next '\n' (consumed, not returned). */
  line(): Uint8Array;
}

/**
 * A problem with the bytes being parsed, as "expected …, got …"; the layer that knows the file name turns
 * it into an InputError (common/errors.ts).
 */
export class DataProblem extends Error {
  constructor(readonly expected: string, readonly got: string) {
    super(`expected ${expected}, got ${got}`);
  }
}

/** A read past the end of the data. */
export class EndOfData extends DataProblem {
  constructor(wanted: number, at: number) {
    super(`${wanted} more byte(s) at byte ${at}`, 'the end of the data (truncated?)');
  }
}

/** The longest line GLOBAL may have (module or name); a longer one means corrupt data, not a real name. */
const MAX_LINE = 4096;

export class BufferSource implements ByteSource {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.byteLength - this.pos;
  }

  byte(): number {
    if (this.pos >= this.buf.byteLength) throw new EndOfData(1, this.pos);
    return this.buf[this.pos++];
  }

  take(n: number): Uint8Array {
    if (n > this.remaining) throw new EndOfData(n, this.pos);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  line(): Uint8Array {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0) throw new EndOfData(1, this.buf.byteLength);
    if (end - this.pos > MAX_LINE) throw new DataProblem(`a line of at most ${MAX_LINE} bytes at byte ${this.pos}`, `${end - this.pos} bytes`);
    const out = this.buf.subarray(this.pos, end);
    this.pos = end + 1;
    return out;
  }
}

/**
 * A buffered window over `[start, end)` of an open file, read synchronously (the unpickler is synchronous;
 * the pickles it reads here are small, the storages behind them are read elsewhere by offset).
 */
export class FileSource implements ByteSource {
  private window = new Uint8Array(0);
  /** File offset of window[0]. */
  private windowStart: number;
  private offset: number;

  constructor(private readonly fd: number, start: number, private readonly end: number, private readonly chunk = 1 << 16) {
    this.windowStart = start;
    this.offset = start;
  }

  get pos(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** Makes `n` bytes from the current offset available in the window. */
  private ensure(n: number): void {
    const have = this.windowStart + this.window.byteLength - this.offset;
    if (have >= n) return;
    if (n > this.remaining) throw new EndOfData(n, this.offset);
    const size = Math.min(Math.max(n, this.chunk), this.remaining);
    const next = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const r = readSync(this.fd, next, got, size - got, this.offset + got);
      if (r === 0) throw new EndOfData(n, this.offset + got);
      got += r;
    }
    this.window = next;
    this.windowStart = this.offset;
  }

  byte(): number {
    this.ensure(1);
    return this.window[this.offset++ - this.windowStart];
  }

  take(n: number): Uint8Array {
    this.ensure(n);
    const i = this.offset - this.windowStart;
    this.offset += n;
    return this.window.subarray(i, i + n);
  }

  line(): Uint8Array {
    const out: number[] = [];
    for (;;) {
      const b = this.byte();
      if (b === 0x0a) return Uint8Array.from(out);
      if (out.length >= MAX_LINE) throw new DataProblem(`a line of at most ${MAX_LINE} bytes`, 'a longer one');
      out.push(b);
    }
  }
}
