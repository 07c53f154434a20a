/**
 * A mistake of the user's (a bad flag, file, line or config key): the CLI prints its message as one line and
 * exits 1, without a stack. Anything else that reaches the CLI is a bug and keeps its stack.
 */
export class UserError extends Error {}

/** A config file, a `--set` override, a flag's value or a combination of settings that cannot work. */
export class ConfigError extends UserError {
  override name = 'ConfigError';
}

/** An output that cannot be written where it was asked for (a folder in the way, no space, no permission). */
export class OutputError extends UserError {
  override name = 'OutputError';
}

/**
 * Errors about input files. Every bad-input error names the file, the 1-based line (when there is one)
 * and what was expected, so a user can open the file at the line and see the problem.
 */
export class InputError extends UserError {
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

/** What Node's file-system error codes mean, in words a user reads after the file's name. */
const FS_CODES: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  EBUSY: 'busy',
  EXDEV: 'on another device',
  ENOTEMPTY: 'folder not empty',
  EIO: 'input/output error',
};

/** A Node file-system error (`fs` and `fs/promises` set `code` and `path`). */
export function isFsError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).code! in FS_CODES;
}

/** `no such file or folder (ENOENT)`, or the error's own first line when it is not a file-system error. */
export function fsErrorText(e: unknown): string {
  if (isFsError(e)) return `${FS_CODES[e.code]} (${e.code})`;
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * The one line for a file-system error that carries a path: `PATH: no such file or folder (ENOENT)`; for a
 * rename or copy the destination is named too. Undefined for other errors.
 */
export function fsErrorLine(e: unknown): string | undefined {
  if (!isFsError(e) || e.path === undefined) return undefined;
  const dest = (e as { dest?: string }).dest;
  return `${dest === undefined ? e.path : `${e.path} → ${dest}`}: ${fsErrorText(e)}`;
}
