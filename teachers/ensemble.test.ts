import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../common/errors.js';
import { ensemble, ensembleWeights } from './ensemble.js';

let dir: string;
const file = async (name: string, lines: string[]) => {
  const f = path.join(dir, name);
  await fsp.writeFile(f, lines.map((l) => `${l}\n`).join(''));
  return f;
};
const read = async (f: string) => (await fsp.readFile(f, 'utf8')).trimEnd().split('\n');

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'teachers-ens-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('ensemble', () => {
  const A = ['1\t0\t10\t100\t200', '4\t2\t10\t101\t201', '-1\t0.5\t11\t102\t202'];
  const B = ['2\t1\t10\t100\t200', '5\t-2\t10\t101\t201', '0\t0.25\t11\t102\t202'];
  const C = ['4\t5\t10\t100\t200', '0\t2\t10\t101\t201', '2\t1.25\t11\t102\t202'];

  it('averages aligned id score files line by line', async () => {
    const [a, b, c] = await Promise.all([file('a.tsv', A), file('b.tsv', B), file('c.tsv', C)]);
    const out = path.join(dir, 'mean.tsv');
    const s = await ensemble({ inputs: [a, b, c], out });
    expect(s).toMatchObject({ rows: 3, format: 'ids-scores', alignment: 'strict' });
    // (1+2+4)/3, (0+1+5)/3; (4+5+0)/3, (2-2+2)/3; (-1+0+2)/3, (0.5+0.25+1.25)/3
    expect(await read(out)).toEqual([
      '2.3333333\t2\t10\t100\t200',
      '3\t0.66666667\t10\t101\t201',
      '0.33333333\t0.66666667\t11\t102\t202',
    ]);
  });

  it('weights teachers (normalized to sum 1)', async () => {
    const [a, b, c] = await Promise.all([file('a.tsv', A), file('b.tsv', B), file('c.tsv', C)]);
    const out = path.join(dir, 'weighted.tsv');
    await ensemble({ inputs: [a, b, c], out, method: 'weighted', weights: [1, 1, 2] });
    // (1+2+8)/4, (0+1+10)/4; (4+5+0)/4, (2-2+4)/4; (-1+0+4)/4, (0.5+0.25+2.5)/4
    expect(await read(out)).toEqual(['2.75\t2.75\t10\t100\t200', '2.25\t1\t10\t101\t201', '0.75\t0.8125\t11\t102\t202']);
    expect(() => ensembleWeights(3, 'weighted', [1, 2])).toThrow(/one weight per input/);
    expect(() => ensembleWeights(2, 'weighted', [0, 0])).toThrow(/not all be 0/);
  });

  it('rejects a file whose triples differ, naming the file and line, and leaves no output', async () => {
    const a = await file('a.tsv', A);
    const b = await file('b-bad.tsv', [B[0], '5\t-2\t10\t101\t999', B[2]]);
    const out = path.join(dir, 'bad.tsv');
    const err = await ensemble({ inputs: [a, b], out, align: 'strict' }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain(`${b}:2: expected the triple at ${a}:2`);
    expect(err.message).toContain('999');
    expect(await fsp.readdir(dir)).not.toContain('bad.tsv');
    expect((await fsp.readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('rejects a shorter file, naming it and the missing line', async () => {
    const a = await file('a.tsv', A);
    const b = await file('b-short.tsv', B.slice(0, 2));
    const err = await ensemble({ inputs: [a, b], out: path.join(dir, 'short.tsv'), align: 'strict' }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(new RegExp(`^${b}:3: expected a line for the triple at ${a}:3 .*, got the end of the file$`));
  });

  it('joins files in another order by triple (auto), in the first file\'s order', async () => {
    const a = await file('a.tsv', A);
    const b = await file('b-shuffled.tsv', [B[2], B[0], B[1]]);
    const out = path.join(dir, 'joined.tsv');
    const logs: string[] = [];
    const s = await ensemble({ inputs: [a, b], out, log: (m) => logs.push(m) });
    expect(s.alignment).toBe('join');
    expect(logs[0]).toContain('joining them by triple');
    expect(await read(out)).toEqual(['1.5\t0.5\t10\t100\t200', '4.5\t0\t10\t101\t201', '-0.5\t0.375\t11\t102\t202']);
  });

  it('join mode names a triple missing from a file, and an extra one', async () => {
    const a = await file('a.tsv', A);
    const b = await file('b-missing.tsv', [B[2], B[0]]);
    const e1 = await ensemble({ inputs: [a, b], out: path.join(dir, 'm.tsv'), align: 'join' }).catch((e) => e);
    expect(e1.message).toBe(`${b}: expected the triple at ${a}:2 ("10 101 201"), got no such triple`);
    const e2 = await ensemble({ inputs: [b, a], out: path.join(dir, 'm.tsv'), align: 'join' }).catch((e) => e);
    expect(e2.message).toBe(`${a}:2: expected only triples that ${b} has, got a triple it lacks`);
  });

  it('averages text score files and keeps the text', async () => {
    const a = await file('ta.tsv', ['1\t2\twhat is x\tx is a letter\tthe sky']);
    const b = await file('tb.tsv', ['3\t-2\twhat is x\tx is a letter\tthe sky']);
    const out = path.join(dir, 'text.tsv');
    const s = await ensemble({ inputs: [a, b], out });
    expect(s.format).toBe('text-scores');
    expect(await read(out)).toEqual(['2\t0\twhat is x\tx is a letter\tthe sky']);
  });

  it('refuses an --out that is one of the inputs (also through a link), keeping that file', async () => {
    const a = await file('keep-a.tsv', A);
    const b = await file('keep-b.tsv', B);
    const link = path.join(dir, 'link-to-a.tsv');
    await fsp.symlink(a, link);
    for (const out of [a, link, path.join(dir, '.', 'keep-a.tsv')]) {
      await expect(ensemble({ inputs: [a, b], out })).rejects.toThrow(`${out}: --out is the --in file ${a}`);
    }
    expect(await read(a)).toEqual(A);
  });

  it('refuses a score beyond float32 as a bad line (1e39 would average to 5e+38, Infinity in float32)', async () => {
    const a = await file('big-a.tsv', ['1e39\t0\t10\t100\t200']);
    const b = await file('big-b.tsv', [B[0]]);
    await expect(ensemble({ inputs: [a, b], out: path.join(dir, 'big.tsv') })).rejects.toThrow(`${a}:1: expected pos_score within float32 range`);
  });

  it('refuses to mix id and text score files', async () => {
    const a = await file('a.tsv', A);
    const t = await file('ta.tsv', ['1\t2\twhat is x\tx is a letter\tthe sky']);
    await expect(ensemble({ inputs: [a, t], out: path.join(dir, 'mix.tsv') })).rejects.toThrow(/mix score forms/);
  });
});
