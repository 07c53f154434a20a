import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { fsErrorText, InputError } from './errors.js';

export interface Line {
  /** 1-based line number in the file. */
  no: number;
  /** The line without its `\n`, `\r\n` ending, or (first line) UTF-8 BOM. */
  text: string;
}

const NL = 0x0a;
const CR = 0x0d;

export interface ReadLinesOptions {
  highWaterMark?: number;
  /**
   * Called with the InputError of a line that is not valid UTF-8. Without it the error is thrown; with it
   * the line is skipped (its number still counts) unless the callback throws. `BadLines.report` fits here.
   */
  onInvalid?: (err: InputError) => void;
  /** Read this stream (e.g. stdin) instead of opening `file`, which then only names it in errors. */
  stream?: AsyncIterable<Buffer>;
}

/**
 * Streams a text file line by line in bounded memory, with line numbers for error messages.
 *
 * Why not node:readline: it silently replaces invalid UTF-8 with U+FFFD, and we must report it instead
 * (`InputError` naming the line), and it is slower on multi-GB files. Chunks are decoded in one fatal
 * TextDecoder call (fast path); only when that throws is the chunk decoded line by line to find the bad line.
 * Handles CRLF endings, a UTF-8 BOM on the first line, and a last line without a newline. A file that cannot
 * be opened, or a folder, is an InputError naming it at the first read.
 */
export async function* readLines(file: string, opts: ReadLinesOptions = {}): AsyncGenerator<Line> {
  for await (const lines of readLineBatches(file, opts)) yield* lines;
}

/**
 * readLines' lines a read chunk (about `highWaterMark` bytes) at a time. Why: each value an async generator
 * yields costs a promise and a microtask turn, which dominated reading a run of 21 500 lines; readers of
 * small-record files (runs, qrels) loop over each batch synchronously instead.
 */
export async function* readLineBatches(file: string, opts: ReadLinesOptions = {}): AsyncGenerator<Line[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let no = 0;
  let carry: Buffer | null = null;
  const fh = opts.stream ? undefined : await openText(file);
  const stream = opts.stream ?? fh!.createReadStream({ highWaterMark: opts.highWaterMark ?? 1 << 20 });

  const emit = (out: Line[], raw: string): void => {
    no++;
    let s = raw;
    if (s.length > 0 && s.charCodeAt(s.length - 1) === CR) s = s.slice(0, -1);
    if (no === 1 && s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    out.push({ no, text: s });
  };

  // The lines of buf[0:end] (whole lines, each ending in \n); at an invalid one without `onInvalid`, the lines
  // before it and the error, so a reader still meets an earlier line's problem first (as line by line).
  const decodeLines = (buf: Buffer, end: number): { lines: Line[]; error?: InputError } => {
    const out: Line[] = [];
    let text: string | null = null;
    try {
      text = decoder.decode(buf.subarray(0, end));
    } catch {
      text = null;
    }
    if (text !== null) {
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        emit(out, text.slice(start, nl));
        start = nl + 1;
      }
      return { lines: out };
    }
    let start = 0;
    while (start < end) {
      const nl = buf.indexOf(NL, start);
      const line = buf.subarray(start, nl);
      start = nl + 1;
      let s: string;
      try {
        s = decoder.decode(line);
      } catch {
        const err = new InputError(file, no + 1, 'valid UTF-8 text', `invalid byte sequence at byte ${badOffset(line)} of the line`);
        if (!opts.onInvalid) return { lines: out, error: err };
        no++;
        opts.onInvalid(err);
        continue;
      }
      emit(out, s);
    }
    return { lines: out };
  };
  const batch = async function* (buf: Buffer, end: number): AsyncGenerator<Line[]> {
    const { lines, error } = decodeLines(buf, end);
    if (lines.length > 0) yield lines;
    if (error) throw error;
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    const last = buf.lastIndexOf(NL);
    if (last < 0) {
      carry = buf;
      continue;
    }
    yield* batch(buf, last + 1);
    carry = last + 1 < buf.length ? Buffer.from(buf.subarray(last + 1)) : null;
  }
  if (carry && carry.length > 0) {
    const withNl = Buffer.concat([carry, Buffer.from([NL])]);
    yield* batch(withNl, withNl.length);
  }
}

/** Opens a file for reading; a missing or unreadable file or a folder is an InputError naming it. */
export async function openText(file: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (e) {
    throw new InputError(file, undefined, 'a readable text file', fsErrorText(e));
  }
  const st = await fh.stat();
  if (st.isDirectory()) {
    await fh.close();
    throw new InputError(file, undefined, 'a readable text file', 'a folder');
  }
  return fh;
}

/** Byte offset where the first invalid UTF-8 sequence in `bytes` starts (for error messages). */
function badOffset(bytes: Uint8Array): number {
  // Shortest failing prefix, by binary search (stream: true lets a prefix end inside a valid sequence).
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid + 1), { stream: true });
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  // The characters completed before that point are valid; the bad sequence starts right after them.
  const valid = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, lo), { stream: true });
  return Buffer.byteLength(valid, 'utf8');
}
