import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { LOSS_NAMES, LOSSES, type LossName, type ScoreInputs } from './losses.js';

/**
 * A training loss as the config states it (`train.loss`): one loss name, or a weighted list of terms
 * `[{name, weight, ...options}]` summed as Σ weight · loss. Each term has a key that names it in metrics and
 * in loss goldens: the name with `_` for `-`, then each option as name and value (`margin_mse`, `kl_tau2`,
 * `in_batch_scale20`).
 */
export interface LossTerm {
  name: LossName;
  weight: number;
  /** The loss's options with their defaults filled in. */
  options: Record<string, number>;
  key: string;
}

/** The schema of one list entry for `name`: name, weight (default 1), and that loss's own options. */
function termSchema(name: LossName) {
  return z.strictObject({ name: z.literal(name), weight: z.number().positive().default(1) }).extend(LOSSES[name].options.shape);
}
type TermSchema = ReturnType<typeof termSchema>;
const TERM_SCHEMAS = LOSS_NAMES.map(termSchema) as [TermSchema, ...TermSchema[]];

const NAMES = LOSS_NAMES.join(', ');
const LossName = z.enum(LOSS_NAMES, { error: () => `a loss name: ${NAMES}` });
const LossList = z
  .array(
    z.discriminatedUnion('name', TERM_SCHEMAS, { error: (iss) => (iss.code === 'invalid_union' ? `a term {name, weight, ...options} with name one of ${NAMES}` : undefined) }),
    { error: (iss) => (iss.code === 'invalid_type' ? `a loss name (${NAMES}) or a list of terms [{name, weight, ...options}]` : undefined) },
  )
  .min(1, 'at least one term')
  .superRefine((list, ctx) => {
    if (ctx.issues.length > 0) return; // zod refines even after an entry failed its schema, which is reported already
    const seen = new Set<string>();
    list.forEach((t, i) => {
      const key = lossTerm(t as { name: LossName }).key;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `term ${key} appears twice (give it one weight)` });
      seen.add(key);
    });
  });

/**
 * `train.loss`: a loss name, or a non-empty list of terms with distinct keys. Dispatched on the input's type
 * rather than a z.union, which reports only "Invalid input" when both forms fail; this names the entry and
 * what was wrong with it.
 */
export const LossConfig = z.unknown().transform((v, ctx): z.output<typeof LossName> | z.output<typeof LossList> => {
  const r = typeof v === 'string' ? LossName.safeParse(v) : LossList.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ ...issue, code: 'custom', input: v });
  return z.NEVER;
});
export type LossConfig = z.output<typeof LossConfig>;

/** The term of a parsed list entry (or of a bare name, weight 1 and default options). */
function lossTerm(entry: { name: LossName; weight?: number; [option: string]: unknown }): LossTerm {
  const { name: _name, weight = 1, ...rest } = entry;
  const options = LOSSES[entry.name].options.parse(rest) as Record<string, number>;
  return { name: entry.name, weight, options, key: termKey(entry.name, options) };
}

/** The terms of a parsed `train.loss`. */
export function lossTerms(config: LossConfig): LossTerm[] {
  return typeof config === 'string' ? [lossTerm({ name: config })] : config.map((t) => lossTerm(t as { name: LossName }));
}

/** What a mix of terms reads: teacher scores T, the in-batch matrix M. */
export function termsNeed(terms: readonly LossTerm[]): { teacher: boolean; inBatch: boolean } {
  return { teacher: terms.some((t) => LOSSES[t.name].needsTeacher), inBatch: terms.some((t) => LOSSES[t.name].needsInBatch) };
}

/** `kl` + {tau: 2} → `kl_tau2`; options in the order of the loss's option schema. */
export function termKey(name: LossName, options: Record<string, number>): string {
  const opts = Object.keys(LOSSES[name].options.shape).map((o) => `_${o}${options[o]}`);
  return `${name.replace(/-/g, '_')}${opts.join('')}`;
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?/i;

/** The forms a term key can take, for error messages: `margin_mse, mse, ranknet, kl_tau<number>, in_batch_scale<number>`. */
export const TERM_KEY_FORMS = LOSS_NAMES.map((n) => `${n.replace(/-/g, '_')}${Object.keys(LOSSES[n].options.shape).map((o) => `_${o}<number>`).join('')}`).join(', ');

/**
 * The term a key names (weight 1): the inverse of termKey, with options given in any order and absent ones at
 * their defaults. Throws an Error saying what was expected for an unknown name, option or bad value.
 */
export function parseTermKey(key: string): LossTerm {
  // Longest name first, so a name that is a prefix of another cannot capture its key.
  const names = [...LOSS_NAMES].sort((a, b) => b.length - a.length);
  const name = names.find((n) => {
    const u = n.replace(/-/g, '_');
    return key === u || key.startsWith(`${u}_`);
  });
  if (!name) throw new Error(`a loss key (${TERM_KEY_FORMS}), got ${JSON.stringify(key)}`);
  const optionNames = Object.keys(LOSSES[name].options.shape);
  const given: Record<string, number> = {};
  let rest = key.slice(name.length);
  while (rest !== '') {
    const option = optionNames.find((o) => rest.startsWith(`_${o}`) && NUMBER.test(rest.slice(o.length + 1)));
    if (!option) throw new Error(`a loss key (${TERM_KEY_FORMS}), got ${JSON.stringify(key)}`);
    const value = NUMBER.exec(rest.slice(option.length + 1))![0];
    given[option] = Number(value);
    rest = rest.slice(option.length + 1 + value.length);
  }
  const parsed = LOSSES[name].options.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`a loss key with valid options (${issue.path.join('.')}: ${issue.message}), got ${JSON.stringify(key)}`);
  }
  return { name, weight: 1, options: parsed.data as Record<string, number>, key };
}

/**
 * Σ weight · loss over the terms, and each term's own (unweighted) value by key, so the loop can log each.
 * Call inside a gradient function; the caller disposes the returned tensors (or a tidy around it does).
 */
export function weightedLoss(terms: readonly LossTerm[], x: ScoreInputs): { total: tf.Scalar; terms: Record<string, tf.Scalar> } {
  if (terms.length === 0) throw new Error('weightedLoss: no loss terms');
  return tf.tidy(() => {
    const values: Record<string, tf.Scalar> = {};
    let total: tf.Scalar | undefined;
    for (const t of terms) {
      const fn = LOSSES[t.name].fn as (x: ScoreInputs, o: Record<string, number>) => tf.Scalar;
      const v = fn(x, t.options);
      values[t.key] = v;
      const weighted = tf.mul(v, t.weight) as tf.Scalar; // weight 1 is exact, so one term equals its loss bit for bit
      total = total ? (tf.add(total, weighted) as tf.Scalar) : weighted;
    }
    return { total: total!, terms: values };
  });
}
