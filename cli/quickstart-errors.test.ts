import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { expectNoNoise, expectOneLineError, runCli, scratch } from './testing.js';

/**
 * `margin-mse quickstart` as a user runs it (issue 16): bad flags and config are refused before a dataset is
 * generated; a run that keeps no best/ is one line, not a crash with minified source.
 */
vi.setConfig({ testTimeout: 600_000 }); // cases wait for a CLI slot (cli/testing.ts)
const s = scratch('quickstart-errors-');

describe.concurrent('quickstart', () => {
  it('--seed abc is refused naming the flag, before generating (was: a dataset of seed NaN)', async () => {
    const out = s.at('seed-abc');
    expectOneLineError(await runCli(['quickstart', '--out', out, '--seed', 'abc']), '--seed');
    expect(existsSync(path.join(out, 'data'))).toBe(false);
  });

  it('a missing --config is one line, before generating the dataset', async () => {
    const out = s.at('no-config');
    expectOneLineError(await runCli(['quickstart', '--out', out, '--config', s.at('nope.yaml')]), s.at('nope.yaml'));
    expect(existsSync(path.join(out, 'data'))).toBe(false);
  });

  it('a bad --set is one line, before generating the dataset', async () => {
    const out = s.at('bad-set');
    expectOneLineError(await runCli(['quickstart', '--out', out, '--set', 'train.max_steps=abc']), 'train.max_steps');
    expect(existsSync(path.join(out, 'data'))).toBe(false);
  });

  it('--out under /proc is one line, promptly (was: a hang in recursive mkdir)', async () => {
    expectOneLineError(await runCli(['quickstart', '--out', '/proc/margin-mse-quickstart'], { timeoutMs: 90_000 }), '/proc/margin-mse-quickstart');
  });

  it('--out a file is one line naming it (was: ENOTDIR stack)', async () => {
    const file = s.file('a-file', 'x\n');
    expectOneLineError(await runCli(['quickstart', '--out', file]), file);
  });

  it('a run shorter than the validation interval completes, or is one line saying why (was: exit 7 and 58 KB of minified wasm source)', async () => {
    const r = await runCli(['quickstart', '--out', s.at('short'), '--set', 'train.max_steps=1'], { timeoutMs: 300_000 });
    if (/The student/.test(r.stdout)) expectNoNoise(r.stderr); // e.g. it evaluates the last checkpoint instead
    else expectOneLineError(r, 'validation');
  });
});
