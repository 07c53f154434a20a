import { describe, expect, it } from 'vitest';
import { InputError } from './errors.js';
import { readLineBatches, readLines } from './lines.js';
import { tempFiles } from './testing.js';

const file = tempFiles('lines-');
const collect = async (p: string, highWaterMark?: number) => {
  const out: [number, string][] = [];
  for await (const l of readLines(p, { highWaterMark })) out.push([l.no, l.text]);
  return out;
};

describe('readLines', () => {
  it('numbers lines, strips CRLF and a first-line BOM, keeps a last line without newline', async () => {
    const p = file('\ufeff1\tone\r\n2\ttwo\n\n3\tthree', 'a.tsv');
    expect(await collect(p)).toEqual([
      [1, '1\tone'],
      [2, '2\ttwo'],
      [3, ''],
      [4, '3\tthree'],
    ]);
  });

  it('gives the same lines whatever the chunk size (multi-byte characters across chunk ends)', async () => {
    const text = Array.from({ length: 200 }, (_, i) => `${i}\tdonâ\u0080\u0099t café 東京 ${'x'.repeat(i % 17)}`).join('\n');
    const p = file(`${text}\n`, 'b.tsv');
    const whole = await collect(p);
    expect(whole).toHaveLength(200);
    expect(whole[199][1]).toBe(`199\tdonâ\u0080\u0099t café 東京 ${'x'.repeat(199 % 17)}`);
    for (const hwm of [1, 7, 64, 1000]) expect(await collect(p, hwm)).toEqual(whole);
  });

  it('names the line of invalid UTF-8', async () => {
    const bytes = Buffer.concat([Buffer.from('ok\nfine\nbad '), Buffer.from([0xc3, 0x28]), Buffer.from(' here\nlast\n')]);
    const p = file(bytes, 'c.tsv');
    const err = await collect(p).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(`${p}:3: expected valid UTF-8 text, got invalid byte sequence at byte 4 of the line`);
  });

  it('a BOM after the first line is kept as text', async () => {
    const p = file('a\n\ufeffb\n', 'd.tsv');
    expect(await collect(p)).toEqual([
      [1, 'a'],
      [2, '\ufeffb'],
    ]);
  });
});

describe('readLines with onInvalid', () => {
  it('skips each invalid line, reports it with its number, and keeps the numbering of the rest', async () => {
    const bytes = Buffer.concat([
      Buffer.from('a\n'),
      Buffer.from([0xff, 0x0a]),
      Buffer.from('b\n'),
      Buffer.from([0x61, 0xe2, 0x82, 0x0a]),
      Buffer.from('c'),
    ]);
    const p = file(bytes, 'e.tsv');
    const reported: string[] = [];
    const lines: [number, string][] = [];
    for await (const l of readLines(p, { highWaterMark: 3, onInvalid: (e) => reported.push(e.message) })) lines.push([l.no, l.text]);
    expect(lines).toEqual([
      [1, 'a'],
      [3, 'b'],
      [5, 'c'],
    ]);
    expect(reported).toEqual([
      `${p}:2: expected valid UTF-8 text, got invalid byte sequence at byte 0 of the line`,
      `${p}:4: expected valid UTF-8 text, got invalid byte sequence at byte 1 of the line`,
    ]);
  });
});

describe('readLineBatches', () => {
  it('gives the same lines as readLines, a chunk at a time, and the lines before an invalid one first', async () => {
    const p = file(Buffer.concat([Buffer.from('a\nb\r\nc\n'), Buffer.from([0x64, 0xff, 0x0a]), Buffer.from('e\n')]), 'batches.txt');
    const seen: [number, string][] = [];
    let error: unknown;
    try {
      for await (const lines of readLineBatches(p, { highWaterMark: 4 })) for (const l of lines) seen.push([l.no, l.text]);
    } catch (e) {
      error = e;
    }
    expect(seen).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(':4');
  });
});
