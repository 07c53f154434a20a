import { InputError } from '../common/errors.js';
import { readScores, showTriple, type ScoreFormat, type ScoreRow } from './score-file.js';

/**
 * Lines up several teachers' score files triple by triple.
 * - `strict`: the files must hold the same triples in the same order (how published score files for one
 *   triples file come); streamed in lockstep, bounded memory. The first difference is an InputError naming
 *   the file and line.
 * - `join`: rows are matched by their triple (qid, pos_pid, neg_pid) or (query, pos, neg); output follows
 *   the first file's order. Holds every file but the first in memory (a few dozen bytes per triple).
 * - `auto`: strict, and on the first difference start over in join mode (logged).
 */
export type AlignMode = 'auto' | 'strict' | 'join';

export interface AlignedRow {
  /** Line in the first file. */
  line: number;
  triple: string;
  /** [teacher] */
  pos: number[];
  neg: number[];
}

export interface AlignOptions {
  format: ScoreFormat;
  align: AlignMode;
  log?: (msg: string) => void;
}

/** Thrown by the strict pass so `auto` can fall back to a join; carries the InputError to show under `strict`. */
class NotAligned extends Error {
  constructor(readonly inputError: InputError) {
    super(inputError.message);
  }
}

/**
 * Runs `consume` over the aligned rows and returns its result. Under `auto`, `consume` may run twice
 * (strict, then join): it must build its state afresh on each call.
 */
export async function withAligned<T>(
  files: string[],
  opts: AlignOptions,
  consume: (rows: AsyncIterable<AlignedRow>, mode: 'strict' | 'join') => Promise<T>,
): Promise<{ result: T; mode: 'strict' | 'join' }> {
  if (files.length === 0) throw new Error('withAligned: no files');
  if (opts.align !== 'join') {
    try {
      return { result: await consume(lockstep(files, opts.format), 'strict'), mode: 'strict' };
    } catch (e) {
      if (!(e instanceof NotAligned)) throw e;
      if (opts.align === 'strict') throw e.inputError;
      opts.log?.(`${e.message}; the files differ in order, joining them by triple instead`);
    }
  }
  return { result: await consume(joined(files, opts.format), 'join'), mode: 'join' };
}

async function* lockstep(files: string[], format: ScoreFormat): AsyncGenerator<AlignedRow> {
  const its = files.map((f) => readScores(f, format)[Symbol.asyncIterator]());
  const last = files.map(() => 0);
  try {
    for (;;) {
      const res = await Promise.all(its.map((it) => it.next()));
      const ended = res.map((r) => r.done === true);
      if (ended.every(Boolean)) return;
      if (ended.some(Boolean)) {
        const short = ended.indexOf(true);
        const long = ended.indexOf(false);
        const r = res[long].value as ScoreRow;
        throw new NotAligned(
          new InputError(files[short], last[short] + 1, `a line for the triple at ${files[long]}:${r.line} (${showTriple(r.triple)})`, 'the end of the file'),
        );
      }
      const rows = res.map((r) => r.value as ScoreRow);
      rows.forEach((r, i) => (last[i] = r.line));
      const first = rows[0];
      for (let i = 1; i < rows.length; i++) {
        if (rows[i].triple !== first.triple) {
          throw new NotAligned(
            new InputError(files[i], rows[i].line, `the triple at ${files[0]}:${first.line} (${showTriple(first.triple)})`, showTriple(rows[i].triple)),
          );
        }
      }
      yield { line: first.line, triple: first.triple, pos: rows.map((r) => r.pos), neg: rows.map((r) => r.neg) };
    }
  } finally {
    await Promise.all(its.map((it) => it.return?.(undefined)));
  }
}

/**
 * One file's scores keyed by triple. JS Maps stop at 2^24 entries, so the keys spread over several maps;
 * scores and lines sit in typed arrays (growing by doubling).
 */
class ScoreIndex {
  private readonly maps: Map<string, number>[] = [new Map()];
  private static readonly MAP_CAP = 1 << 23;
  pos = new Float64Array(1024);
  neg = new Float64Array(1024);
  lines = new Float64Array(1024);
  used = new Uint8Array(1024);
  size = 0;

  get(triple: string): number | undefined {
    for (const m of this.maps) {
      const i = m.get(triple);
      if (i !== undefined) return i;
    }
    return undefined;
  }

  add(triple: string, row: ScoreRow): void {
    if (this.size === this.pos.length) this.grow();
    let m = this.maps[this.maps.length - 1];
    if (m.size >= ScoreIndex.MAP_CAP) this.maps.push((m = new Map()));
    m.set(triple, this.size);
    this.pos[this.size] = row.pos;
    this.neg[this.size] = row.neg;
    this.lines[this.size] = row.line;
    this.size++;
  }

  private grow(): void {
    const n = this.pos.length * 2;
    const g = <A extends Float64Array | Uint8Array>(a: A, b: A): A => (b.set(a), b);
    this.pos = g(this.pos, new Float64Array(n));
    this.neg = g(this.neg, new Float64Array(n));
    this.lines = g(this.lines, new Float64Array(n));
    this.used = g(this.used, new Uint8Array(n));
  }
}

async function loadIndex(file: string, format: ScoreFormat): Promise<ScoreIndex> {
  const idx = new ScoreIndex();
  for await (const row of readScores(file, format)) {
    const seen = idx.get(row.triple);
    if (seen !== undefined) {
      throw new InputError(file, row.line, 'each triple once (joining by triple)', `a repeat of line ${idx.lines[seen]} (${showTriple(row.triple)})`);
    }
    idx.add(row.triple, row);
  }
  return idx;
}

async function* joined(files: string[], format: ScoreFormat): AsyncGenerator<AlignedRow> {
  const others = await Promise.all(files.slice(1).map((f) => loadIndex(f, format)));
  let count = 0;
  for await (const row of readScores(files[0], format)) {
    const pos = [row.pos];
    const neg = [row.neg];
    for (let k = 0; k < others.length; k++) {
      const idx = others[k];
      const i = idx.get(row.triple);
      if (i === undefined) {
        throw new InputError(files[k + 1], undefined, `the triple at ${files[0]}:${row.line} (${showTriple(row.triple)})`, 'no such triple');
      }
      if (idx.used[i]) {
        throw new InputError(files[0], row.line, 'each triple once (joining by triple)', `a repeat of ${showTriple(row.triple)}`);
      }
      idx.used[i] = 1;
      pos.push(idx.pos[i]);
      neg.push(idx.neg[i]);
    }
    count++;
    yield { line: row.line, triple: row.triple, pos, neg };
  }
  for (let k = 0; k < others.length; k++) {
    const idx = others[k];
    if (idx.size === count) continue;
    const i = idx.used.findIndex((u, j) => j < idx.size && u === 0);
    throw new InputError(files[k + 1], idx.lines[i], `only triples that ${files[0]} has`, 'a triple it lacks');
  }
}
