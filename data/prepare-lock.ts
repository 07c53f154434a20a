import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeDir } from '../common/atomic.js';
import { fsErrorText, OutputError } from '../common/errors.js';

/** Who holds a cache lock: written into the lock file, read by those who wait for it. */
export interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

export interface LockOptions {
  /** Called when the lock is held by another process, then every `reportEvery` ms while waiting. */
  onWait?: (owner: LockOwner | null, lockFile: string) => void;
  /** Do not wait for a live holder: throw this error instead (a run folder is not shared, a cache is). */
  failIfHeld?: (owner: LockOwner | null, lockFile: string) => Error;
  /** What the locked folder is, for the error when its lock cannot be made (default 'the cache'). */
  what?: string;
  pollMs?: number;
  reportEvery?: number;
}

/** A lock file whose writer died between creating it and writing its owner is stale after this long. */
const EMPTY_STALE_MS = 10_000;

export const lockPath = (cacheDir: string) => path.join(path.dirname(cacheDir), `.${path.basename(cacheDir)}.lock`);

/**
 * An exclusive lock beside `cacheDir` (`.<name>.lock`), so processes that prepare the same cache at once
 * (cluster jobs started together) build it once: the file is created with O_EXCL (`wx`), which only one
 * creator wins, also on NFS v3+. Others wait while the owner lives; a lock left by a dead process on this
 * host is taken over. A lock from another host cannot be checked (its pid means nothing here): it is
 * waited for, and the wait line says which file to remove if that host's job is gone.
 * Hand-written rather than a library (proper-lockfile) because the staleness rule is by pid, not by mtime:
 * a prepare may run for an hour without touching its lock.
 * Returns the release function.
 */
export async function lockCache(cacheDir: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const file = lockPath(cacheDir);
  // Named by the folder the user asked for: the lock file beside it is an implementation detail.
  const cannotLock = (e: unknown): never => {
    throw new OutputError(`${cacheDir}: cannot create ${opts.what ?? 'the cache'} here (its lock file ${file}: ${e instanceof OutputError ? e.message : fsErrorText(e)})`);
  };
  await makeDir(path.dirname(file)).catch(cannotLock);
  const me: LockOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  const text = `${JSON.stringify(me)}\n`;
  let lastReport = -Infinity;
  for (;;) {
    try {
      const fd = await fsp.open(file, 'wx');
      try {
        await fd.writeFile(text);
      } finally {
        await fd.close();
      }
      return async () => {
        // Only our own lock: never remove one a waiter took over after deciding ours was stale.
        if ((await fsp.readFile(file, 'utf8').catch(() => '')) === text) await fsp.rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') cannotLock(e);
    }
    const held = await readLock(file);
    if (held === undefined) continue; // released meanwhile
    if (await isStale(file, held)) {
      await takeOver(file, held);
      continue;
    }
    if (opts.failIfHeld) throw opts.failIfHeld(held, file);
    if (Date.now() - lastReport >= (opts.reportEvery ?? 30_000)) {
      lastReport = Date.now();
      opts.onWait?.(held, file);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/** The owner in a lock file; null when it cannot be parsed (being written), undefined when it is gone. */
async function readLock(file: string): Promise<LockOwner | null | undefined> {
  const text = await fsp.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const o = JSON.parse(text) as LockOwner;
    return Number.isInteger(o.pid) && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}

async function isStale(file: string, owner: LockOwner | null): Promise<boolean> {
  if (owner === null) {
    const st = await fsp.stat(file).catch(() => undefined);
    return st !== undefined && Date.now() - st.mtimeMs > EMPTY_STALE_MS;
  }
  return owner.host === os.hostname() && !alive(owner.pid);
}

/**
 * Removes a stale lock without racing another waiter that does the same: the lock is renamed away (atomic,
 * one winner) and checked to be the stale one; if another waiter had already replaced it with its own, that
 * live lock is linked back (link never overwrites; if a third process took the name meanwhile, it holds it).
 */
async function takeOver(file: string, stale: LockOwner | null): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    await fsp.rename(file, aside);
  } catch {
    return; // someone else moved it first
  }
  const moved = await readLock(aside);
  if (JSON.stringify(moved) !== JSON.stringify(stale)) await fsp.link(aside, file).catch(() => {});
  await fsp.rm(aside, { force: true });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The default wait line (stderr): who holds the lock, since when, and what to do if it is stale. */
export function describeWait(owner: LockOwner | null, lockFile: string): string {
  const who = owner ? `pid ${owner.pid} on ${owner.host}, since ${owner.since}` : 'a process that is still writing the lock';
  const hint = owner && owner.host !== os.hostname() ? `; if that job is gone, remove ${lockFile}` : '';
  return `prepare: waiting for ${lockFile} (${who}) to finish building the same cache${hint}\n`;
}
