import { promises as fsp } from 'node:fs';
import type { z } from 'zod';
import { InputError } from '../common/errors.js';

/**
 * What the parity checks share (BERT_Dot in parity/bert-dot.ts, BERT_Cat in parity/bert-cat.ts): reading a
 * JSON reference against its schema, and comparing one quantity with the reference's values.
 *
 * Difference of a quantity: maxAbs = max |ours - ref| over its values; maxRel = maxAbs / max(max |ref|, floor).
 */
export interface Quantity {
  name: string;
  maxAbs: number;
  maxRel: number;
  /** What `ok` was judged against (relative, or absolute for noise-driven Adam steps, see `note`). */
  tol: number;
  ok: boolean;
  note?: string;
}

export interface ParityReport {
  backend: string;
  quantities: Quantity[];
  ok: boolean;
}

/** Reads a reference file as JSON (not yet checked against a schema). */
export async function readReferenceJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, undefined, 'a readable JSON reference', (e as Error).message);
  }
}

/** Reads `file` as JSON and checks it against `schema`; `what` names the expected content in errors. */
export async function readReference<S extends z.ZodType>(file: string, schema: S, what: string): Promise<z.output<S>> {
  const r = schema.safeParse(await readReferenceJson(file));
  if (!r.success) {
    const i = r.error.issues[0];
    throw new InputError(file, undefined, `${what} (${i.message} at ${i.path.join('.') || 'top level'})`);
  }
  return r.data;
}

/** Compares `ours` with `ref` (same length) as described at the top of the file; NaN is never ok. */
export function compare(name: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number, floor = 0): Quantity {
  if (ours.length !== ref.length) return { name, maxAbs: Infinity, maxRel: Infinity, tol, ok: false, note: `${ours.length} values, reference has ${ref.length}` };
  let maxAbs = 0;
  let scale = floor;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i] - ref[i]);
    maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  const maxRel = scale === 0 ? (maxAbs === 0 ? 0 : Infinity) : maxAbs / scale;
  return { name, maxAbs, maxRel, tol, ok: maxRel <= tol };
}

/** One line per quantity: name, max abs diff, max rel diff, tolerance, verdict; then the summary. */
export function formatReport(r: ParityReport): string {
  const width = Math.max(8, ...r.quantities.map((q) => q.name.length));
  const e = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));
  const lines = [`${'quantity'.padEnd(width)}  ${'max abs'.padStart(9)}  ${'max rel'.padStart(9)}  ${'tol'.padStart(9)}`];
  for (const q of r.quantities) {
    lines.push(`${q.name.padEnd(width)}  ${e(q.maxAbs).padStart(9)}  ${e(q.maxRel).padStart(9)}  ${e(q.tol).padStart(9)}  ${q.ok ? 'ok' : 'FAIL'}${q.note ? `  (${q.note})` : ''}`);
  }
  const bad = r.quantities.filter((q) => !q.ok).length;
  lines.push(`${r.ok ? 'PASS' : 'FAIL'} on ${r.backend}: ${r.quantities.length - bad}/${r.quantities.length} quantities within tolerance`);
  return `${lines.join('\n')}\n`;
}

/**
 * Compares `ours` with `ref` value by value, each within its own absolute `allow[i]`. maxAbs and maxRel are as
 * in `compare`; `tol` is the loosest allowance relative to the same scale, so a quantity can be ok with maxRel
 * above a tighter value's allowance only where that value was allowed more (say so in `note`).
 */
export function compareWithin(name: string, ours: ArrayLike<number>, ref: ArrayLike<number>, allow: ArrayLike<number>, note?: string): Quantity {
  const c = compare(name, ours, ref, 0);
  if (ours.length !== ref.length) return c;
  let scale = 0;
  let ok = true;
  let loosest = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]));
    loosest = Math.max(loosest, allow[i]);
    if (!(Math.abs(ours[i] - ref[i]) <= allow[i])) ok = false;
  }
  return { ...c, tol: scale === 0 ? loosest : loosest / scale, ok, ...(note ? { note } : {}) };
}
