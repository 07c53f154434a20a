import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../common/errors.js';
import { sharedPath } from '../common/paths.js';
import { initBackend } from '../models/engine/backend.js';
import { checkLosses, readLossGolden, TOL_GRAD, TOL_VALUE } from './losses.js';

/** The group losses against PyTorch (../shared/goldens/losses/golden.json), through the check the CLI runs. */
const GOLDEN = sharedPath('goldens', 'losses', 'golden.json');
const KEYS = ['margin_mse', 'kl_tau1', 'kl_tau2', 'mse', 'ranknet', 'in_batch_scale1', 'in_batch_scale20'];
let dir: string;

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'loss-check-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
  await initBackend('cpu', { quiet: true });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`loss golden on ${backend}`, () => {
    it('every loss matches value (1e-5 rel) and gradient (1e-4 rel), without leaking tensors', async () => {
      await initBackend(backend, { quiet: true });
      const golden = await readLossGolden(GOLDEN);
      expect(golden.entries.map((e) => e.key)).toEqual(KEYS);
      expect(golden.entries.map((e) => [e.term.name, e.term.options])).toEqual([
        ['margin-mse', {}], ['kl', { tau: 1 }], ['kl', { tau: 2 }], ['mse', {}], ['ranknet', {}], ['in-batch', { scale: 1 }], ['in-batch', { scale: 20 }],
      ]);
      const before = tf.memory().numTensors;
      const check = await checkLosses(golden);
      expect(tf.memory().numTensors).toBe(before);
      expect(check.backend).toBe(backend);
      expect(Object.keys(check.results)).toEqual(KEYS);
      expect(check.quantities).toHaveLength(2 * KEYS.length);
      for (const q of check.quantities) expect(q.maxRel, q.name).toBeLessThanOrEqual(q.name.endsWith('.grad') ? TOL_GRAD : TOL_VALUE);
      expect(check.ok).toBe(true);
      // Worst differences, for the record.
      const worst = (suffix: string) => Math.max(...check.quantities.filter((q) => q.name.endsWith(suffix)).map((q) => q.maxRel));
      console.log(`${backend}: max rel value ${worst('.value').toExponential(2)}, grad ${worst('.grad').toExponential(2)}`);
    });
  });
}

describe('the check on other files', () => {
  const write = async (name: string, content: unknown) => {
    const file = path.join(dir, name);
    await fsp.writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  const base = async () => JSON.parse(await fsp.readFile(GOLDEN, 'utf8')) as Record<string, unknown>;

  it('fails a golden whose value or gradient is off by more than the tolerance', async () => {
    await initBackend('cpu', { quiet: true });
    const g = await base();
    const mm = g.margin_mse as { value: number; grad: number[][] };
    mm.value *= 1 + 3e-5;
    const kl = g.kl_tau2 as { value: number; grad: number[][] };
    kl.grad[0][0] += 1e-3 * Math.max(...kl.grad.flat().map(Math.abs));
    const check = await checkLosses(await readLossGolden(await write('off.json', g)));
    expect(check.ok).toBe(false);
    expect(check.quantities.filter((q) => !q.ok).map((q) => q.name)).toEqual(['margin_mse.value', 'kl_tau2.grad']);
  });

  it('reads keys with other options (kl_tau0.5, in_batch_scale5) and only needs the inputs its losses read', async () => {
    await initBackend('cpu', { quiet: true });
    const S = [[2, 0, 1]];
    // ranknet by hand: mean(softplus(0 - 2), softplus(1 - 2)); d/dS0 = -(σ(-2) + σ(-1)) / 2, d/dSk = σ(Sk - S0) / 2
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const ranknet = { value: (Math.log1p(Math.exp(-2)) + Math.log1p(Math.exp(-1))) / 2, grad: [[-(sig(-2) + sig(-1)) / 2, sig(-2) / 2, sig(-1) / 2]] };
    const check = await checkLosses(await readLossGolden(await write('ranknet.json', { S, ranknet })));
    expect(check.ok).toBe(true);
    const g = await readLossGolden(await write('opts.json', { S, T: [[1, 1, 0]], M: [[2, 0, 1]], 'kl_tau0.5': ranknet, in_batch_scale5: ranknet }));
    expect(g.entries.map((e) => e.term.options)).toEqual([{ tau: 0.5 }, { scale: 5 }]);
  });

  const rejects = async (name: string, content: unknown, ...parts: string[]) => {
    const file = await write(name, content);
    const err = await readLossGolden(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message.startsWith(file)).toBe(true);
    for (const p of parts) expect((err as Error).message).toContain(p);
  };

  it('names the file and the key of malformed input', async () => {
    const g = await base();
    await rejects('notjson.json', '{"S": [[1, 2]', 'readable JSON');
    await rejects('nos.json', { margin_mse: g.margin_mse }, 'at S');
    await rejects('badgrad.json', { ...g, kl_tau2: { value: 1, grad: [[1, 'x']] } }, 'kl_tau2.grad.0.1');
    await rejects('novalue.json', { ...g, mse: { grad: (g.mse as { grad: unknown }).grad } }, 'mse.value');
    await rejects('unknown.json', { ...g, listnet: { value: 1, grad: [[0]] } }, 'a loss key', 'kl_tau<number>', 'in_batch_scale<number>', '"listnet"');
    await rejects('badopt.json', { ...g, kl_temp2: g.kl_tau2 }, 'a loss key', '"kl_temp2"');
    await rejects('zerotau.json', { ...g, kl_tau0: g.kl_tau2 }, 'tau', '"kl_tau0"');
    await rejects('shapeT.json', { ...g, T: [[1, 2]] }, 'T: the shape of S [4, 4]', '[1, 2]');
    await rejects('shapeM.json', { ...g, M: g.S }, 'M: [B, B(1+K)] = [4, 16]');
    await rejects('shapegrad.json', { ...g, in_batch_scale1: g.margin_mse }, 'in_batch_scale1.grad: [4, 16] like M');
    await rejects('noM.json', { S: g.S, T: g.T, in_batch_scale1: g.in_batch_scale1 }, 'in_batch_scale1', '"M"');
    await rejects('noT.json', { S: g.S, kl_tau1: g.kl_tau1 }, 'kl_tau1', '"T"');
    await rejects('badK.json', { ...g, K: 2 }, 'K: the number of columns of S minus 1 (3)');
    await rejects('nokeys.json', { S: g.S, T: g.T }, 'at least one loss key');
  });
});
