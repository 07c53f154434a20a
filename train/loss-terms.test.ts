import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { initBackend } from '../models/engine/backend.js';
import { inBatch, kl, marginMse } from './losses.js';
import { LossConfig, lossTerms, parseTermKey, termKey, termsNeed, weightedLoss } from './loss-terms.js';

beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
});

const terms = (v: unknown) => lossTerms(LossConfig.parse(v));
const brief = (v: unknown) => terms(v).map((t) => [t.key, t.weight]);

describe('train.loss', () => {
  it('one name is one term of weight 1 with default options', () => {
    expect(terms('margin-mse')).toEqual([{ name: 'margin-mse', weight: 1, options: {}, key: 'margin_mse' }]);
    expect(terms('kl')).toEqual([{ name: 'kl', weight: 1, options: { tau: 1 }, key: 'kl_tau1' }]);
  });

  it('a list of weighted terms with their options', () => {
    expect(brief([{ name: 'margin-mse' }, { name: 'in-batch', weight: 0.1, scale: 20 }])).toEqual([['margin_mse', 1], ['in_batch_scale20', 0.1]]);
    expect(brief([{ name: 'kl', tau: 2 }, { name: 'kl', tau: 0.5, weight: 3 }])).toEqual([['kl_tau2', 1], ['kl_tau0.5', 3]]);
  });

  it('rejects unknown names and options, bad values, empty lists and a term given twice', () => {
    const fails = (v: unknown, part: RegExp) => {
      const r = LossConfig.safeParse(v);
      expect(r.success).toBe(false);
      expect(JSON.stringify(r.error!.issues)).toMatch(part);
    };
    fails('listnet', /a loss name: margin-mse, mse, ranknet, kl, in-batch/);
    fails([{ name: 'listnet' }], /"path":\[0,"name"\].*with name one of margin-mse/);
    fails(3, /a loss name \(margin-mse.*\) or a list of terms/);
    fails([{ name: 'in-batch', tau: 2 }], /tau/); // another loss's option
    fails([{ name: 'kl', tau: 0 }], /tau/);
    fails([{ name: 'mse', weight: 0 }], /weight/);
    fails([], /at least one term/);
    fails([{ name: 'kl', tau: 2 }, { name: 'kl', tau: 2, weight: 2 }], /kl_tau2 appears twice/);
  });

  it('inside a config section: issues carry the full path, and a default applies', () => {
    const Section = z.strictObject({ loss: LossConfig.default('margin-mse') });
    expect(Section.parse({}).loss).toBe('margin-mse');
    expect(Section.parse({ loss: [{ name: 'kl', tau: 2 }] }).loss).toEqual([{ name: 'kl', weight: 1, tau: 2 }]);
    const r = Section.safeParse({ loss: [{ name: 'mse' }, { name: 'kl', tau: -1 }] });
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['loss.1.tau']);
  });

  it('says which inputs a mix reads', () => {
    expect(termsNeed(terms('ranknet'))).toEqual({ teacher: false, inBatch: false });
    expect(termsNeed(terms('in-batch'))).toEqual({ teacher: false, inBatch: true });
    expect(termsNeed(terms([{ name: 'ranknet' }, { name: 'kl' }]))).toEqual({ teacher: true, inBatch: false });
  });
});

describe('term keys', () => {
  it('parse back to their terms, options in any order and at defaults when absent', () => {
    for (const v of ['margin-mse', 'mse', 'ranknet', [{ name: 'kl', tau: 2 }], [{ name: 'in-batch', scale: 20 }], [{ name: 'kl', tau: 0.05 }]]) {
      for (const t of terms(v)) expect(parseTermKey(t.key)).toEqual(t);
    }
    expect(parseTermKey('kl')).toMatchObject({ name: 'kl', options: { tau: 1 } });
    expect(parseTermKey('in_batch_scale1e1').options).toEqual({ scale: 10 });
    expect(termKey('in-batch', { scale: 20 })).toBe('in_batch_scale20');
  });

  it('an unknown name, option or bad value says what keys look like', () => {
    for (const k of ['listnet', 'margin_mse_tau2', 'kl_tau', 'kl_taux', 'kl_tau2_tau3x', 'klx', 'in-batch']) {
      expect(() => parseTermKey(k), k).toThrow(/a loss key .*kl_tau<number>/);
    }
    expect(() => parseTermKey('kl_tau0')).toThrow(/tau: .*"kl_tau0"/);
    expect(() => parseTermKey('in_batch_scale-2')).toThrow(/scale/);
  });
});

describe('weightedLoss', () => {
  const S = () => tf.tensor2d([[4, 3, 1], [0, 2, 1]]);
  const T = () => tf.tensor2d([[9, 7, 7], [1, 1, 3]]);
  const M = () => tf.tensor2d([[4, 3, 1, 2, 0, 0], [1, 1, 1, 0, 2, 1]]);

  it('sums weight · loss and returns each term unweighted', () => {
    const mix = terms([{ name: 'margin-mse', weight: 2 }, { name: 'kl', tau: 2, weight: 0.5 }, { name: 'in-batch', weight: 0.25, scale: 3 }]);
    const got = tf.tidy(() => {
      const r = weightedLoss(mix, { S: S(), T: T(), M: M() });
      return [r.total, r.terms.margin_mse, r.terms.kl_tau2, r.terms.in_batch_scale3].map((x) => x.dataSync()[0]);
    });
    const want = tf.tidy(() => [marginMse(S(), T()), kl(S(), T(), 2), inBatch(M(), 3)].map((x) => x.dataSync()[0]));
    expect(got.slice(1)).toEqual(want);
    expect(got[0]).toBeCloseTo(2 * want[0] + 0.5 * want[1] + 0.25 * want[2], 5);
  });

  it('one term of weight 1 is that loss bit for bit, and no tensor leaks', () => {
    const before = tf.memory().numTensors;
    const [total, alone] = tf.tidy(() => [weightedLoss(terms('margin-mse'), { S: S(), T: T() }).total.dataSync()[0], marginMse(S(), T()).dataSync()[0]]);
    expect(total).toBe(alone);
    expect(tf.memory().numTensors).toBe(before);
  });
});
