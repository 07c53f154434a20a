import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';

const run = promisify(execFile);
const GOLDEN = sharedPath('goldens', 'losses', 'golden.json');
let tmp: string;

beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'train-cli-'));
});
afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

/** `margin-mse train losses --check FILE` through the real CLI. */
async function check(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'train', 'losses', '--check', file], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('margin-mse train losses --check', () => {
  it('the shared golden: our {value, grad} per key as JSON on stdout, the differences on stderr, exit 0', async () => {
    const golden = JSON.parse(await fsp.readFile(GOLDEN, 'utf8'));
    const r = await check(GOLDEN);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, { value: number; grad: number[][] }>;
    const keys = ['margin_mse', 'kl_tau1', 'kl_tau2', 'mse', 'ranknet', 'in_batch_scale1', 'in_batch_scale20'];
    expect(Object.keys(out)).toEqual(keys);
    for (const k of keys) {
      expect(Math.abs(out[k].value - golden[k].value)).toBeLessThanOrEqual(1e-5 * Math.abs(golden[k].value));
      expect([out[k].grad.length, out[k].grad[0].length]).toEqual([golden[k].grad.length, golden[k].grad[0].length]);
    }
    expect(r.stderr).toMatch(/margin_mse\.value\s+\S+\s+\S+\s+1\.00e-5\s+ok/);
    expect(r.stderr).toMatch(/in_batch_scale20\.grad\s+\S+\s+\S+\s+1\.00e-4\s+ok/);
    expect(r.stderr).toMatch(/PASS on cpu: 14\/14 quantities within tolerance/);
  }, 120_000);

  it('a mutated copy: still prints our values, names what differs, exit 1; a bad file is one line', async () => {
    const golden = JSON.parse(await fsp.readFile(GOLDEN, 'utf8'));
    golden.kl_tau2.value *= 1 + 1e-3;
    golden.in_batch_scale1.grad[1][2] += 0.01;
    const mutated = path.join(tmp, 'mutated.json');
    await fsp.writeFile(mutated, JSON.stringify(golden));
    const r = await check(mutated);
    expect(r.code).toBe(1);
    expect(Object.keys(JSON.parse(r.stdout))).toHaveLength(7);
    expect(r.stderr).toMatch(/kl_tau2\.value\s+\S+\s+9\.99e-4\s+1\.00e-5\s+FAIL/);
    expect(r.stderr).toMatch(/in_batch_scale1\.grad\s+\S+\s+\S+\s+1\.00e-4\s+FAIL/);
    expect(r.stderr).toMatch(/FAIL on cpu: 12\/14 quantities within tolerance/);

    const bad = path.join(tmp, 'bad.json');
    await fsp.writeFile(bad, JSON.stringify({ S: golden.S, T: golden.T, kl_temp2: golden.kl_tau2 }));
    const b = await check(bad);
    expect(b.code).toBe(1);
    expect(b.stdout).toBe('');
    expect(b.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^margin-mse: ${bad}: expected a loss key \\(margin_mse, .*kl_tau<number>.*\\), got "kl_temp2"$`))]);
  }, 120_000);
});
