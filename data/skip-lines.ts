import { createReadStream } from 'node:fs';
import { BadLines, InputError } from '../common/errors.js';
import { readLines, type Line } from '../common/lines.js';

/**
 * readLines, but under `on_bad_line: skip` a line of invalid UTF-8 is reported to `bad` and skipped
 * instead of ending the file. readLines cannot go on after that error (it throws at the same line on every
 * read), so from the first such line on, the rest of the file is read here, line by line with a fatal
 * decoder per line: slower, but only files with broken bytes pay for it.
 */
export async function* readLinesSkipping(file: string, bad: BadLines): AsyncGenerator<Line> {
  let seen = 0;
  try {
    for await (const line of readLines(file)) {
      seen = line.no;
      yield line;
    }
    return;
  } catch (e) {
    if (!(e instanceof InputError) || e.line !== seen + 1 || bad.policy === 'error') throw e;
  }
  yield* bytesLines(file, seen, bad);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

async function* bytesLines(file: string, after: number, bad: BadLines): AsyncGenerator<Line> {
  let no = 0;
  let carry: Buffer = Buffer.alloc(0);
  const decode = (bytes: Buffer): Line | null => {
    no++;
    if (no <= after) return null;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    try {
      const text = utf8.decode(bytes.subarray(0, end));
      return { no, text: no === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
    } catch {
      bad.report(new InputError(file, no, 'valid UTF-8 text', 'an invalid byte sequence'));
      return null;
    }
  };
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      const line = decode(buf.subarray(start, nl));
      if (line) yield line;
      start = nl + 1;
    }
    carry = Buffer.from(buf.subarray(start));
  }
  if (carry.length > 0) {
    const line = decode(carry);
    if (line) yield line;
  }
}
