import YAML from 'yaml';
import { Rng } from '../common/rng.js';
import type { Param, SweepConfig } from './config.js';

export type Value = number | string | boolean | unknown[] | { [key: string]: unknown };

/** One run of a sweep: its folder name and the values of the varied keys. */
export interface SweepRun {
  name: string;
  values: Record<string, Value>;
}

/** The runs of a sweep, in a fixed order (grid: odometer order; random: draw order, duplicates dropped). */
export function expandRuns(sweep: Pick<SweepConfig, 'method' | 'params' | 'samples' | 'seed'>): SweepRun[] {
  const keys = Object.keys(sweep.params);
  const combos: Record<string, Value>[] = [];
  if (sweep.method === 'grid') {
    let acc: Record<string, Value>[] = [{}];
    for (const k of keys) acc = acc.flatMap((c) => (sweep.params[k] as Value[]).map((v) => ({ ...c, [k]: v })));
    combos.push(...acc);
  } else {
    const rng = new Rng(sweep.seed);
    for (let i = 0; i < (sweep.samples ?? 0); i++)
      combos.push(Object.fromEntries(keys.map((k) => [k, draw(rng, sweep.params[k])])));
  }
  const short = shortKeys(keys);
  const seen = new Set<string>();
  const runs: SweepRun[] = [];
  for (const values of combos) {
    const name = keys.map((k) => `${short.get(k)}=${slug(values[k])}`).join('_');
    if (seen.has(name)) continue;
    seen.add(name);
    runs.push({ name, values });
  }
  return runs;
}

function draw(rng: Rng, p: Param): Value {
  if (Array.isArray(p)) return rng.pick(p);
  const u = rng.next();
  const x = p.log ? Math.exp(Math.log(p.min) + u * (Math.log(p.max) - Math.log(p.min))) : p.min + u * (p.max - p.min);
  // Rounded to 3 significant digits, so the folder name and the value passed to the run are the same number.
  return p.int ? Math.round(x) : Number(x.toPrecision(3));
}

/** The shortest dotted suffix of each key that no other key shares (`train.lr` → `lr`). */
function shortKeys(keys: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of keys) {
    const parts = k.split('.');
    for (let n = 1; n <= parts.length; n++) {
      const suffix = parts.slice(-n).join('.');
      if (n === parts.length || keys.every((o) => o === k || !`.${o}`.endsWith(`.${suffix}`))) {
        out.set(k, suffix);
        break;
      }
    }
  }
  return out;
}

/** A value in a folder name: lists joined by `+`, a mapping's values by `-` (`[{name: kl, tau: 2}, {name: mse}]` → `kl-2+mse`). */
const compact = (v: unknown): string =>
  Array.isArray(v) ? v.map(compact).join('+') : v !== null && typeof v === 'object' ? Object.values(v).map(compact).join('-') : String(v);
const slug = (v: Value) => compact(v).replace(/[^\w.+-]+/g, '-');

/** A value as tables show it: scalars as they are, lists and mappings as one-line YAML. */
export const showValue = (v: Value): string => (typeof v === 'object' ? YAML.stringify(v, { collectionStyle: 'flow' }).trim() : String(v));

/** `--set` overrides of one run: the sweep's fixed ones, the run's values, and where it writes. */
export function runSets(sweep: Pick<SweepConfig, 'set'>, run: SweepRun, sweepDir: string): string[] {
  return [
    ...sweep.set,
    ...Object.entries(run.values).map(([k, v]) => `${k}=${yamlScalar(v)}`),
    `run.out_dir=${yamlScalar(sweepDir)}`,
    `run.name=${run.name}`,
  ];
}

/** A value as `--set` parses it back (YAML): strings that would read as something else get quotes. */
function yamlScalar(v: Value): string {
  if (typeof v === 'object') return showValue(v);
  if (typeof v !== 'string') return String(v);
  let back: unknown;
  try {
    back = YAML.parse(v);
  } catch {
    back = undefined;
  }
  return back === v ? v : JSON.stringify(v);
}
