import { promises as fsp } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError, fsErrorText } from './errors.js';

export { ConfigError };

/**
 * One typed config tree for every command: a YAML file (optional), then `--set key.path=value` overrides
 * (values parsed as YAML scalars, so `--set train.lr=1e-5` is a number), then validation against a strict
 * zod schema with defaults. Unknown keys and wrong types fail loudly, naming the key.
 */
export async function loadConfig<S extends z.ZodType>(
  schema: S,
  file: string | undefined,
  sets: readonly string[] = [],
): Promise<z.output<S>> {
  let raw: unknown = {};
  if (file) {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`${file}: cannot read the config file (${fsErrorText(e)})`);
    }
    try {
      raw = YAML.parse(text) ?? {};
    } catch (e) {
      throw new ConfigError(`${file}: not valid YAML: ${firstLine(e)}`);
    }
  }
  raw = applySets(raw, sets);
  return parseConfig(schema, raw, file ?? '(flags)');
}

export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.output<S> {
  const res = schema.safeParse(raw);
  if (!res.success) {
    const lines = res.error.issues.map((i) => {
      const key = i.path.join('.') || '(root)';
      if (i.code === 'unrecognized_keys') {
        const base = i.path.length ? `${i.path.join('.')}.` : '';
        return `unknown key ${i.keys.map((k) => `'${base}${k}'`).join(', ')}`;
      }
      return `'${key}': ${i.message}`;
    });
    throw new ConfigError(`${source}: invalid config:\n  ${lines.join('\n  ')}`);
  }
  return res.data;
}

/** Key segments that would reach Object.prototype (or a constructor's) instead of a config section. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** Applies `a.b.c=value` overrides to a plain object tree (copy on write). */
export function applySets(raw: unknown, sets: readonly string[]): unknown {
  const root = structuredClone((raw ?? {}) as Record<string, unknown>);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set ${s}: expected key.path=value`);
    const keys = s.slice(0, eq).split('.');
    const bad = keys.find((k) => k === '' || FORBIDDEN.has(k));
    if (bad !== undefined) throw new ConfigError(`--set ${s}: ${bad === '' ? 'an empty key segment' : `'${bad}' is not a config key`}`);
    let value: unknown;
    try {
      value = YAML.parse(s.slice(eq + 1));
    } catch (e) {
      throw new ConfigError(`--set ${s}: the value is not YAML (${firstLine(e)})`);
    }
    let node: Record<string, unknown> = root;
    for (const k of keys.slice(0, -1)) {
      const next = Object.hasOwn(node, k) ? node[k] : undefined;
      if (next === undefined || next === null) node[k] = {};
      else if (typeof next !== 'object' || Array.isArray(next))
        throw new ConfigError(`--set ${s}: '${k}' is not a section`);
      node = node[k] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
  return root;
}

/** Serializes a resolved config for a run folder (config.yaml after overrides). */
export function dumpConfig(config: unknown): string {
  return YAML.stringify(config);
}

/** The first line of an error's message (YAML's errors add a code frame below it). */
function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].trim();
}
