import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import yargs from 'yargs';
import { sharedPath } from '../common/paths.js';
import dataCommand from './data.js';

const dir = mkdtempSync(path.join(tmpdir(), 'data-cli-'));

/** Runs `margin-mse data …` in-process (the full CLI takes seconds to load every stage) and returns stdout. */
async function cli(args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    await yargs().command(dataCommand).strict().fail((msg, err) => {
      throw err ?? new Error(msg);
    }).parseAsync(['data', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe('margin-mse data', () => {
  it('tokenize prints one JSON line per input line, with and without specials', async () => {
    const input = path.join(dir, 'in.txt');
    writeFileSync(input, "what is paula deen's brother\r\n\n");
    const out = await cli(['tokenize', '--input', input]);
    expect(out.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([
      { tokens: ['what', 'is', 'paula', 'dee', '##n', "'", 's', 'brother'], ids: [2054, 2003, 13723, 9266, 2078, 1005, 1055, 2567] },
      { tokens: [], ids: [] },
    ]);
    const cut = await cli(['tokenize', '--input', input, '--special', '--max-length', '4']);
    expect(JSON.parse(cut.split('\n')[0])).toEqual({ tokens: ['[CLS]', 'what', 'is', '[SEP]'], ids: [101, 2054, 2003, 102] });
  });

  it('prepare reads the config and --set, then reports up to date; inspect shows tokens', async () => {
    const config = path.join(dir, 'c.yaml');
    writeFileSync(config, `data:\n  triples: ${sharedPath('data', 'msmarco-sample', 'triples.train.sample.tsv')}\n  triples_format: text\n`);
    const sets = ['--set', `data.cache_dir=${path.join(dir, 'cache')}`, '--set', 'data.max_triples=10'];
    expect(await cli(['prepare', '--config', config, ...sets])).toMatch(
      /prepared in .* s: .*cache\n {2}triples 10, queries 10, passages \d+ \(truncated 0\), skipped lines: collection 0, queries 0, triples 0/,
    );
    expect(await cli(['prepare', '--config', config, ...sets])).toMatch(/^up to date: /);
    expect(await cli(['inspect', '--cache', path.join(dir, 'cache'), '--rows', '1'])).toContain('q:   [CLS] is a little caf ##fe ##ine ok during pregnancy [SEP]');
  });

  it('an unknown config key fails naming it', async () => {
    await expect(cli(['prepare', '--set', 'data.shard_row=5'])).rejects.toThrow(/unknown key 'data.shard_row'/);
  });
});
