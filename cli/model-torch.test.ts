import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';

/**
 * Folders that hold only pytorch_model.bin (torch.save, both layouts) through the real CLI: `model parity`
 * reproduces the PyTorch goldens from them, and a checkpoint whose pickle calls a non-weights global is
 * refused with one line.
 */
const run = promisify(execFile);
const TORCH = sharedPath('goldens', 'torch-bin');

/** `margin-mse …` as a child process; resolves with the exit code and both streams. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const FOLDERS = [
  ['distilbert-tiny', 'zip-f32', 100],
  ['distilbert-tiny', 'legacy-f32', 100],
  ['distilbert-tiny', 'zip-f32-views', 100],
  ['bert-cat-tiny', 'zip-f32', 2],
  ['bert-cat-tiny', 'legacy-f32', 2],
] as const;

describe('model parity on pytorch_model.bin folders', () => {
  for (const [fixture, layout, quantities] of FOLDERS) {
    it(`${fixture}/${layout} reproduces ${fixture}/golden.json`, async () => {
      const r = await cli('model', 'parity', '--model', path.join(TORCH, fixture, layout), '--reference', sharedPath('goldens', fixture, 'golden.json'), '--backend', 'cpu');
      expect(r.stdout).toContain(`PASS on cpu: ${quantities}/${quantities} quantities within tolerance`);
      expect(r.code).toBe(0);
    }, 120_000);
  }

  it('refuses the malicious checkpoint with one line naming the global, exit 1', async () => {
    const dir = path.join(TORCH, 'distilbert-tiny', 'malicious');
    const r = await cli('model', 'parity', '--model', dir, '--reference', sharedPath('goldens', 'distilbert-tiny', 'golden.json'), '--backend', 'cpu');
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('margin-mse:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(path.join(dir, 'pytorch_model.bin'));
    expect(lines[0]).toMatch(/got the global posix\.system, refused \(nothing was run\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
  }, 120_000);
});
