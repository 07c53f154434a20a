import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMetrics, readMetricsLines } from './metrics.js';

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'metrics-'));
});
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

describe('metrics.jsonl reader', () => {
  it('drops a torn last row (a run killed mid-append) and keeps the text of the others', async () => {
    const file = path.join(tmp, 'torn.jsonl');
    await fsp.writeFile(file, '{"step":5,"loss":2.5}\n{"step":10,"validation":{"mrr@10":0.25},"best":true}\n{"step":15,"lo');
    expect(await readMetrics(file)).toEqual([{ step: 5, loss: 2.5 }, { step: 10, validation: { 'mrr@10': 0.25 }, best: true }]);
    expect((await readMetricsLines(file)).map((l) => l.text)).toEqual(['{"step":5,"loss":2.5}', '{"step":10,"validation":{"mrr@10":0.25},"best":true}']);
  });

  it('names the file and line of a bad row that is not the last', async () => {
    const file = path.join(tmp, 'bad.jsonl');
    await fsp.writeFile(file, '{"step":5,"loss":2.5}\nnot json\n{"step":10,"loss":2}\n');
    await expect(readMetrics(file)).rejects.toThrow(`${file}:2: expected a JSON metrics row`);
  });

  it('reads a missing file as no rows (a run before its first row)', async () => {
    expect(await readMetrics(path.join(tmp, 'none.jsonl'))).toEqual([]);
  });
});
