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
    expect(out.text().split('\n')[1]).toMatch(/^train: 4\/10 steps \| [\d.]+ steps\/s \| ETA \d+s \| loss 0\.50$/);
  });

  it('formats durations', () => {
    expect(formatSeconds(59)).toBe('59s');
    expect(formatSeconds(61)).toBe('1m01s');
    expect(formatSeconds(3 * 3600 + 5 * 60)).toBe('3h05m');
    expect(formatSeconds(Number.NaN)).toBe('?');
  });
});
