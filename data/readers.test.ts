import { describe, expect, it } from 'vitest';
import { BadLines } from '../common/errors.js';
import { sharedPath } from '../common/paths.js';
import { tempFiles } from '../common/testing.js';
import { repairMojibake } from './mojibake.js';
import { readTriples, type Triple, type TripleFormat } from './triples.js';
import { loadIdText, readIdText } from './tsv.js';

const COLLECTION = sharedPath('data', 'msmarco-sample', 'collection.sample.tsv');
const TRIPLES = sharedPath('data', 'msmarco-sample', 'triples.train.sample.tsv');
const DEV_TOPICS = sharedPath('data', 'trec', 'topics.msmarco-passage.dev-subset.txt');
const file = tempFiles('readers-');
const all = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};
const triples = (f: string, format: TripleFormat, bad?: BadLines): Promise<Triple[]> => all(readTriples(f, format, { badLines: bad }));

describe('readers on the real sample files', () => {
  it('reads the 89-passage collection', async () => {
    const rows = await all(readIdText(COLLECTION));
    expect(rows.length).toBe(89);
    expect(rows[0].id).toBe('0');
    expect(rows[0].text.startsWith('The presence of communication amid scientific minds')).toBe(true);
    expect(rows[88].line).toBe(89);
    const map = await loadIdText(COLLECTION);
    expect(map.size).toBe(89);
    expect(map.get('1')).toMatch(/^The Manhattan Project and its atomic bomb/);
  });

  it('reads the 6980 dev queries', async () => {
    const q = await loadIdText(DEV_TOPICS);
    expect(q.size).toBe(6980);
  });

  it('reads the 100 sample text triples, keeping the mojibake by default', async () => {
    const rows = await triples(TRIPLES, 'text');
    expect(rows.length).toBe(100);
    expect(rows[0].query).toBe('is a little caffeine ok during pregnancy');
    expect(rows[0].pos).toContain('We don\u00e2\u0080\u0099t know');
    expect(rows[0].posScore).toBeUndefined();
    const fixed = await all(readTriples(TRIPLES, 'text', { repairMojibake: true }));
    expect(fixed[0].pos).toContain('We don\u2019t know');
    expect(fixed[0].pos).toContain('1\u00bd 8-ounce'); // Â½ → ½
    expect(fixed.some((t) => /[\u00c2-\u00f4][\u0080-\u00bf]/.test(t.pos! + t.neg! + t.query!))).toBe(false);
  });
});

describe('triple forms', () => {
  it('parses id triples with scores', async () => {
    const rows = await triples(file('9.5\t-1.25e1\t1185869\t0\t12\n0.5\t.5\t7\t8\t9\n'), 'ids-scores');
    expect(rows).toEqual([
      { line: 1, posScore: 9.5, negScore: -12.5, qid: '1185869', posPid: '0', negPid: '12' },
      { line: 2, posScore: 0.5, negScore: 0.5, qid: '7', posPid: '8', negPid: '9' },
    ]);
  });

  it('parses id triples without scores (qidpidtriples, for teachers score)', async () => {
    const f = file('1185869\t0\t12\n7\t8\n');
    const rows = await all(readTriples(f, 'ids', { badLines: new BadLines('skip') }));
    expect(rows).toEqual([{ line: 1, qid: '1185869', posPid: '0', negPid: '12' }]);
    await expect(all(readTriples(f, 'ids'))).rejects.toThrow(`${f}:2: expected 3 tab-separated columns (qid, pos_pid, neg_pid), got 2 columns`);
  });

  it('parses text triples with scores', async () => {
    const rows = await triples(file('1\t2\tq\tp\tn\n'), 'text-scores');
    expect(rows).toEqual([{ line: 1, posScore: 1, negScore: 2, query: 'q', pos: 'p', neg: 'n' }]);
  });
});

describe('bad input', () => {
  it('wrong column count names file, line and the expected columns', async () => {
    const f = file('1\t2\t3\t4\t5\n1\t2\t3\t4\n');
    await expect(triples(f, 'ids-scores')).rejects.toThrow(`${f}:2: expected 5 tab-separated columns (pos_score, neg_score, qid, pos_pid, neg_pid), got 4 columns`);
    await expect(all(readIdText(file('1\ta\tb\n')))).rejects.toThrow(/:1: expected 2 tab-separated columns \(id, text\), got 3 columns/);
  });

  it('rejects scores that are not finite numbers', async () => {
    for (const s of ['nan', 'inf', '-Infinity', '', '1e999', '1,5', '0x10']) {
      const f = file(`1\t2\tq\tp\tn\n${s}\t2\tq\tp\tn\n`);
      await expect(triples(f, 'text-scores')).rejects.toThrow(`${f}:2: expected pos_score as a finite number, got ${JSON.stringify(s)}`);
    }
  });

  it('rejects scores beyond float32, which the cache would store as Infinity (1e39 is finite in float64)', async () => {
    for (const s of ['1e39', '-3.5e38']) {
      const f = file(`1\t2\tq\tp\tn\n2\t${s}\tq\tp\tn\n`);
      await expect(triples(f, 'text-scores')).rejects.toThrow(`${f}:2: expected neg_score within float32 range (|score| <= 3.4028235e+38), got ${JSON.stringify(s)}`);
    }
    // float32's largest value itself, and one that rounds to it, are kept
    const rows = await triples(file('3.4028234663852886e38\t-3.40282356e38\tq\tp\tn\n'), 'text-scores');
    expect(rows.map((r) => Math.fround(r.negScore!))).toEqual([-3.4028234663852886e38]);
  });

  it('refuses an id file read as texts, naming the form it is (it would train on the tokens of the ids)', async () => {
    const f = file('3.5\t1\t1185869\t59219\t2032\n');
    await expect(triples(f, 'text-scores')).rejects.toThrow(`${f}:1: expected text-scores triples (query and passage texts), got three numeric ids: an ids-scores file (set the format to ids-scores)`);
    await expect(triples(file('1185869\t59219\t2032\n'), 'text')).rejects.toThrow('an ids file (set the format to ids)');
    // a text triple with one numeric column is text
    expect(await triples(file('1\t2\t1985\tthe year\t42\n'), 'text-scores')).toHaveLength(1);
  });

  it('rejects empty text and empty ids', async () => {
    await expect(all(readIdText(file('1\thello\n2\t  \n')))).rejects.toThrow(/:2: expected a non-empty text, got "  "/);
    await expect(all(readIdText(file('\thello\n')))).rejects.toThrow(/:1: expected a non-empty id without spaces/);
    await expect(triples(file('q\t\tn\n'), 'text')).rejects.toThrow(/:1: expected a non-empty positive passage/);
    await expect(triples(file('1\t2\t3\t\t5\n'), 'ids-scores')).rejects.toThrow(/:1: expected a non-empty pos_pid/);
  });

  it('rejects invalid UTF-8 naming the line', async () => {
    const f = file(Buffer.concat([Buffer.from('1\tok\n2\tbad '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]));
    await expect(all(readIdText(f))).rejects.toThrow(`${f}:2: expected valid UTF-8 text`);
  });

  it('skips and counts invalid UTF-8 lines under on_bad_line: skip', async () => {
    const bad = Buffer.from([0xc3, 0x28]);
    const f = file(Buffer.concat([Buffer.from('1\tok\n2\t'), bad, Buffer.from('\n3\tfine\n4\t'), bad, Buffer.from('\n5\tlast\n')]));
    const skip = new BadLines('skip');
    const rows = await all(readIdText(f, { badLines: skip }));
    expect(rows.map((r) => [r.id, r.line])).toEqual([['1', 1], ['3', 3], ['5', 5]]);
    expect(skip.count).toBe(2);
    expect(skip.examples.map((e) => e.line)).toEqual([2, 4]);
  });

  it('accepts CRLF endings and a BOM', async () => {
    const rows = await all(readIdText(file('\ufeff1\tone\r\n2\ttwo\r\n')));
    expect(rows.map((r) => [r.id, r.text])).toEqual([['1', 'one'], ['2', 'two']]);
    const t = await triples(file('\ufeff1\t2\t3\t4\t5\r\n'), 'ids-scores');
    expect(t[0]).toMatchObject({ posScore: 1, negPid: '5' });
  });

  it('skips and counts bad lines under on_bad_line: skip', async () => {
    const bad = new BadLines('skip');
    const rows = await triples(file('1\t2\t3\t4\t5\nx\t2\t3\t4\t5\n1\t2\t3\n1\t2\t3\t4\t6\n'), 'ids-scores', bad);
    expect(rows.map((r) => r.line)).toEqual([1, 4]);
    expect(bad.count).toBe(2);
    expect(bad.toJSON().byReason).toEqual({
      'pos_score as a finite number': 1,
      '5 tab-separated columns (pos_score, neg_score, qid, pos_pid, neg_pid)': 1,
    });
  });

  it('treats a repeated id in loadIdText as a bad line', async () => {
    const f = file('1\ta\n1\tb\n');
    await expect(loadIdText(f)).rejects.toThrow(`${f}:2: expected each id once, got id 1 again`);
    const bad = new BadLines('skip');
    expect((await loadIdText(f, { badLines: bad })).get('1')).toBe('a');
    expect(bad.count).toBe(1);
  });
});

describe('repairMojibake', () => {
  it('repairs UTF-8 read as Latin-1 and leaves real Latin-1 alone', () => {
    expect(repairMojibake('don\u00e2\u0080\u0099t')).toBe('don\u2019t');
    expect(repairMojibake('caf\u00c3\u00a9')).toBe('café');
    expect(repairMojibake('café ½ naïve')).toBe('café ½ naïve');
    expect(repairMojibake('\u00f0\u009f\u0098\u0080')).toBe('😀');
    // an incomplete sequence stays as it is
    expect(repairMojibake('\u00e2\u0080x')).toBe('\u00e2\u0080x');
  });
});
