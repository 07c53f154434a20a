import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatSeconds, progress } from './progress.js';

const capture = () => {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  let text = '';
  (stream as unknown as PassThrough).on('data', (d) => (text += d));
  return { stream, text: () => text };
};

describe('progress (plain lines, no TTY)', () => {
  it('prints done/total, rate, values, and no ETA before anything is done', () => {
    const out = capture();
    const p = progress({ label: 'train', total: 10, unit: 'steps', stream: out.stream, every: 0 });
    p.stop();
    expect(out.text()).toMatch(/^train: 0\/10 steps \| 0\.0 steps\/s\n$/);
    p.tick(4, { loss: '0.50' });
    // Too soon for a rate (a first tick in the same millisecond once read 1e13/s): none, and no ETA.
    expect(out.text().split('\n')[1]).toBe('train: 4/10 steps | ? steps/s | loss 0.50');
  });

  it('gives a rate over real time once half a second has passed, and the final rate over the whole span', async () => {
    const out = capture();
    const p = progress({ label: 'prep', unit: 'rows', stream: out.stream, every: 0 });
    await new Promise((r) => setTimeout(r, 600));
    p.tick(300);
    const rate = Number(/\| ([\d.]+) rows\/s/.exec(out.text().split('\n')[0])![1]);
    expect(rate).toBeGreaterThan(50); // 300 rows over 0.6 s up to a loaded machine's delays
    expect(rate).toBeLessThanOrEqual(500);
    p.stop();
    expect(out.text().split('\n')[1]).toMatch(/^prep: 300 rows \| [\d.]+ rows\/s$/);
  });

  it('counts a resumed start as done but not in the rate', async () => {
    const out = capture();
    const p = progress({ label: 'train', total: 100, unit: 'step', stream: out.stream, every: 0, initial: 90 });
    await new Promise((r) => setTimeout(r, 600));
    p.tick(1);
    const [, done, rate] = /^train: (\d+)\/100 step \| ([\d.]+) step\/s/.exec(out.text())!;
    expect(Number(done)).toBe(91);
    expect(Number(rate)).toBeLessThan(2); // 1 step in >= 0.6 s (counting the 90 earlier ones read 151)
  });

  it('prints the first tick at once, then one line per `every` seconds', () => {
    const out = capture();
    const p = progress({ label: 'x', stream: out.stream, every: 60 });
    p.tick(5);
    p.tick(5);
    expect(out.text()).toBe('x: 5 it | ? it/s\n');
  });

  it('formats durations', () => {
    expect(formatSeconds(59)).toBe('59s');
    expect(formatSeconds(61)).toBe('1m01s');
    expect(formatSeconds(3 * 3600 + 5 * 60)).toBe('3h05m');
    expect(formatSeconds(Number.NaN)).toBe('?');
  });
});
