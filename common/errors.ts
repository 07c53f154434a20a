/**
 * Errors about input files. Every bad-input error names the file, the 1-based line (when there is one)
 * and what was expected, so a user can open the file at the line and see the problem.
 */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly expected: string,
    readonly got?: string,
  ) {
    const where = line === undefined ? file : `${file}:${line}`;
    super(`${where}: expected ${expected}${got === undefined ? '' : `, got ${got}`}`);
    this.name = 'InputError';
  }
}

/** What a reader does with a bad line: stop with an InputError, or skip it and count it. */
export type OnBadLine = 'error' | 'skip';

export interface SkippedLine {
  file: string;
  line: number | undefined;
  reason: string;
}

/**
 * Collects skipped lines under `on_bad_line: skip`, or throws under `error`. The counts and the first
 * `keep` examples go into manifests and summaries, so nothing is dropped silently.
 */
export class BadLines {
  readonly examples: SkippedLine[] = [];
  readonly byReason = new Map<string, number>();
  count = 0;

  constructor(
    readonly policy: OnBadLine = 'error',
    private readonly keep = 100,
  ) {}

  /** Throws `err` under policy `error`; records it under `skip`. */
  report(err: InputError): void {
    if (this.policy === 'error') throw err;
    this.count++;
    this.byReason.set(err.expected, (this.byReason.get(err.expected) ?? 0) + 1);
    if (this.examples.length < this.keep) this.examples.push({ file: err.file, line: err.line, reason: err.message });
  }

  toJSON(): { count: number; byReason: Record<string, number>; examples: SkippedLine[] } {
    return { count: this.count, byReason: Object.fromEntries(this.byReason), examples: this.examples };
  }
}

/** Shortens a bad value for an error message. */
export function show(value: string, max = 60): string {
  const s = JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max - 4)}…"` : s;
}
