import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../../common/paths.js';
import { processThreads, THREADS_ENV } from './threads.js';

const run = promisify(execFile);

describe('processThreads', () => {
  it('takes MARGIN_MSE_THREADS when set, else every core', () => {
    expect(processThreads({})).toBe(os.availableParallelism());
    expect(processThreads({ [THREADS_ENV]: '' })).toBe(os.availableParallelism());
    expect(processThreads({ [THREADS_ENV]: '3' })).toBe(3);
  });

  it('refuses anything but a whole number >= 1, in one line naming the variable', () => {
    for (const bad of ['0', '-2', '1.5', 'two', '2x']) {
      expect(() => processThreads({ [THREADS_ENV]: bad })).toThrow(`MARGIN_MSE_THREADS=${bad}: expected a whole number of threads >= 1`);
    }
  });

  it('stops a command with that one line, rather than letting backend auto pass wasm over', async () => {
    // Valid inputs, so the command reaches its backend (inputs are checked before it starts).
    const args = [path.join(ROOT, 'bin', 'margin-mse.js'), 'train', 'losses', '--check', sharedPath('goldens', 'losses', 'golden.json'), '--backend', 'wasm'];
    const err = await run(process.execPath, args, { cwd: ROOT, env: { ...process.env, [THREADS_ENV]: 'two' } }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr.trim()).toBe('margin-mse: MARGIN_MSE_THREADS=two: expected a whole number of threads >= 1 (the cores given to the process)');
  }, 60_000);
});
