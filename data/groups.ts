import { BadLines, InputError, show } from '../common/errors.js';
import { readLines } from '../common/lines.js';
import { Rng } from '../common/rng.js';
import type { Qrels } from './qrels.js';

/**
 * The group sources of `data.groups` (data/config.ts): each yields, per training query, its scored positives
 * and negatives; sampleGroups draws the groups (one positive, K negatives) that `data prepare` stores.
 */
export interface Candidate {
  pid: string;
  /** The teacher's score. */
  score: number;
  /** Where it was read (for errors about it). */
  line: number;
}

export interface QueryCandidates {
  qid: string;
  /** The query's first line. */
  line: number;
  positives: Candidate[];
  negatives: Candidate[];
}

const ID = /^[^\s]+$/;
const LINE_FORM = '{"qid": ..., "pos": [[pid, score], ...], "neg": [[pid, score], ...]}';

/** An id as JSON gives it: a non-empty string without spaces, or a non-negative integer (MS MARCO's ids). */
function jsonId(v: unknown): string | null {
  if (typeof v === 'string' && ID.test(v)) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  return null;
}

/** One JSON line → the query's candidates, or the InputError that makes it a bad line. */
export function parseGroupLine(file: string, no: number, text: string): QueryCandidates | InputError {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return new InputError(file, no, `a JSON object ${LINE_FORM}`, show(text));
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return new InputError(file, no, `a JSON object ${LINE_FORM}`, show(text));
  const o = v as Record<string, unknown>;
  const qid = jsonId(o.qid);
  if (qid === null) return new InputError(file, no, '"qid" as a string id or an integer', show(JSON.stringify(o.qid ?? null)));
  const seen = new Set<string>();
  const list = (key: 'pos' | 'neg'): Candidate[] | InputError => {
    const items = o[key];
    if (!Array.isArray(items) || (key === 'pos' && items.length === 0))
      return new InputError(file, no, `"${key}" as a ${key === 'pos' ? 'non-empty ' : ''}list of [pid, score] pairs`, show(JSON.stringify(items ?? null)));
    const out: Candidate[] = [];
    for (const [i, item] of items.entries()) {
      const pid = Array.isArray(item) && item.length === 2 ? jsonId(item[0]) : null;
      const score = Array.isArray(item) ? item[1] : undefined;
      // finite in float32 too: the cache stores float32, where 1e39 is Infinity (data/fields.ts parseScore)
      if (pid === null || typeof score !== 'number' || !Number.isFinite(Math.fround(score)))
        return new InputError(file, no, `${key}[${i}] as [pid, score] with a finite teacher score`, show(JSON.stringify(item)));
      if (seen.has(pid)) return new InputError(file, no, 'each pid once per line', `pid ${pid} again in ${key}[${i}]`);
      seen.add(pid);
      out.push({ pid, score, line: no });
    }
    return out;
  };
  const positives = list('pos');
  if (positives instanceof InputError) return positives;
  const negatives = list('neg');
  if (negatives instanceof InputError) return negatives;
  return { qid, line: no, positives, negatives };
}

/** Streams a JSON lines group file; bad lines (see parseGroupLine) go to `bad`. Blank lines are skipped. */
export async function* readGroupLines(file: string, bad: BadLines): AsyncGenerator<QueryCandidates> {
  for await (const { no, text } of readLines(file, { onInvalid: (e) => bad.report(e) })) {
    if (text.trim() === '') continue;
    const c = parseGroupLine(file, no, text);
    if (c instanceof InputError) bad.report(c);
    else yield c;
  }
}

const RUN_FORM = 'a TREC run line with the teacher\'s score, `qid Q0 pid rank score tag` (6 columns)';

/**
 * Streams a teacher run (TREC: `qid Q0 pid rank score tag`, the score being the cross-encoder's) joined with
 * the training qrels: per query of the run, its judged passages (grade >= 1) found in the run are the
 * positives, its other passages the negatives. Bounded memory: a query's lines must be together (as
 * data/runs.ts writeRun writes them); a query seen again later is an error.
 * Bad run lines (columns, score, a pid twice for one query) go to `bad`; a judged positive missing from the
 * run and a run query without qrels are counted in `skipped` (always skipped: they are expected in real runs).
 */
export async function* readTeacherRun(
  file: string,
  qrels: Qrels,
  bad: BadLines,
  skipped: { positivesNotInRun: BadLines; queriesWithoutQrels: BadLines },
): AsyncGenerator<QueryCandidates> {
  const done = new Set<string>();
  let cur = null as { qid: string; line: number; docs: Candidate[]; pids: Set<string> } | null;
  const finish = (): QueryCandidates | null => {
    if (!cur) return null;
    done.add(cur.qid);
    const judged = qrels.get(cur.qid);
    if (!judged) {
      skipped.queriesWithoutQrels.report(new InputError(file, cur.line, `query ${cur.qid} in the qrels`, 'no judgments'));
      return null;
    }
    const relevant = new Set([...judged].filter(([, g]) => g >= 1).map(([pid]) => pid));
    for (const pid of relevant)
      if (!cur.pids.has(pid)) skipped.positivesNotInRun.report(new InputError(file, cur.line, `judged positive ${pid} of query ${cur.qid} in the run`, 'missing'));
    return { qid: cur.qid, line: cur.line, positives: cur.docs.filter((d) => relevant.has(d.pid)), negatives: cur.docs.filter((d) => !relevant.has(d.pid)) };
  };
  for await (const { no, text } of readLines(file, { onInvalid: (e) => bad.report(e) })) {
    const t = text.trim();
    if (t === '') continue;
    const cols = t.split(/[ \t]+/);
    if (cols.length !== 6) {
      bad.report(new InputError(file, no, RUN_FORM, `${cols.length} columns in ${show(text)}`));
      continue;
    }
    const [qid, , pid, , s] = cols;
    const score = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN;
    if (!Number.isFinite(Math.fround(score))) {
      // finite in float32 too: the cache stores float32, where 1e39 is Infinity (data/fields.ts parseScore)
      bad.report(new InputError(file, no, 'a finite teacher score (column 5)', show(s)));
      continue;
    }
    if (cur?.qid !== qid) {
      const c = finish();
      if (c) yield c;
      if (done.has(qid)) throw new InputError(file, no, `the lines of query ${qid} together (sort the run by query)`, 'more of them after another query');
      cur = { qid, line: no, docs: [], pids: new Set() };
    }
    if (cur.pids.has(pid)) {
      bad.report(new InputError(file, no, 'each pid once per query', `${pid} again for query ${qid}`));
      continue;
    }
    cur.pids.add(pid);
    cur.docs.push({ pid, score, line: no });
  }
  const c = finish();
  if (c) yield c;
}

/** FNV-1a of a string: a query's own sampling stream, independent of which other lines were skipped. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface SampledGroup {
  positive: Candidate;
  /** K negatives, in draw order. */
  negatives: Candidate[];
}

/**
 * The groups of one query: `perQuery` groups, each with the next positive (round robin from a seeded start)
 * and `k` negatives drawn without replacement (a partial Fisher-Yates shuffle), seeded by (seed, qid).
 * A query with no positive yields none; one with fewer than `k` negatives is a bad line, reported to `bad`
 * with `file` and the query's first line.
 */
export function sampleGroups(c: QueryCandidates, k: number, perQuery: number, seed: number, file: string, bad: BadLines): SampledGroup[] {
  if (c.positives.length === 0) return [];
  if (c.negatives.length < k) {
    bad.report(new InputError(file, c.line, `at least ${k} negatives (data.groups.negatives) for query ${c.qid}`, `${c.negatives.length}`));
    return [];
  }
  const rng = new Rng(hash(c.qid) ^ Math.imul(seed, 0x9e3779b1));
  const first = rng.int(c.positives.length);
  const order = c.negatives.map((_, i) => i);
  const out: SampledGroup[] = [];
  for (let g = 0; g < perQuery; g++) {
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(order.length - i);
      [order[i], order[j]] = [order[j], order[i]];
    }
    out.push({ positive: c.positives[(first + g) % c.positives.length], negatives: order.slice(0, k).map((i) => c.negatives[i]) });
  }
  return out;
}
