import { promises as fsp, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fsErrorText, isFsError, OutputError } from './errors.js';

/**
 * Atomic writes: data goes to a temp file beside the target, is fsynced, then renamed over it. A crash
 * leaves either the old file or the new one, never a torn one; leftover `*.tmp-*` files are ignored by readers.
 * A failed write removes its temp file, and every file-system error is an OutputError naming the target.
 *
 * Targets that are not regular files are never renamed over: a character device or a FIFO (`/dev/stdout`, a
 * pipe, `/dev/full`) is written through, so its errors (ENOSPC) reach the user and the device stays; a symbolic
 * link is followed, and the file it points to is replaced, not the link; a folder is refused.
 */
export function tempPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${Date.now()}`);
}

/** A file being written by openAtomic: write() any number of times, then commit() or abort(). */
export interface AtomicFile {
  write(data: string | Uint8Array): Promise<void>;
  /** fsync, close and rename over the target (a device or FIFO: close). */
  commit(): Promise<void>;
  /** Close and remove the temp file; the target is untouched. Never throws. */
  abort(): Promise<void>;
}

/** Opens `target` for an atomic write (see above); makes its folder. */
export async function openAtomic(target: string): Promise<AtomicFile> {
  const fail = (e: unknown): never => {
    throw outputError(target, e);
  };
  const { file, through } = await resolveTarget(target).catch(fail);
  await makeDir(path.dirname(path.resolve(file)));
  const tmp = through ? file : tempPath(file);
  const fh: FileHandle = await fsp.open(tmp, 'w').catch(fail);
  let open = true;
  const close = async () => {
    if (!open) return;
    open = false;
    await fh.close();
  };
  const abort = async () => {
    await close().catch(() => {});
    if (!through) await fsp.rm(tmp, { force: true }).catch(() => {});
  };
  const guard = async (work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (e) {
      await abort();
      fail(e);
    }
  };
  return {
    write: (data) => guard(() => fh.writeFile(data)),
    commit: () =>
      guard(async () => {
        if (!through) await fh.sync();
        await close();
        if (!through) await fsp.rename(tmp, file);
      }),
    abort,
  };
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const f = await openAtomic(target);
  await f.write(data);
  await f.commit();
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, `${JSON.stringify(value, null, 2)}\n`);
}

/** Where a write to `target` goes: the real file behind a link, or the device/FIFO itself (`through`). */
async function resolveTarget(target: string): Promise<{ file: string; through: boolean }> {
  let st: Stats;
  try {
    st = await fsp.stat(target);
  } catch (e) {
    // Missing (makeDir then says which part of the path is wrong), or a link to a file not yet there.
    if (!isFsError(e) || (e.code !== 'ENOENT' && e.code !== 'ENOTDIR')) throw e;
    const link = await fsp.lstat(target).catch(() => null);
    return { file: link?.isSymbolicLink() ? path.resolve(path.dirname(target), await fsp.readlink(target)) : target, through: false };
  }
  if (st.isDirectory()) throw new OutputError(`${target}: is a folder, not a file`);
  if (!st.isFile()) return { file: target, through: true };
  return { file: (await fsp.lstat(target)).isSymbolicLink() ? await fsp.realpath(target) : target, through: false };
}

/** An OutputError naming `target` for a file-system error; other errors as they are. */
export function outputError(target: string, e: unknown): unknown {
  if (e instanceof OutputError || !isFsError(e)) return e;
  return new OutputError(`${target}: cannot write: ${fsErrorText(e)}`);
}

/**
 * `mkdir -p` that names what is in the way. Why not fs.mkdir's `recursive`: under /proc (and other pseudo
 * file systems that refuse new entries with ENOENT) Node's recursive mkdir retries forever at 100% CPU. This
 * walks up to the first existing ancestor, checks that it is a folder, then creates the rest one by one.
 */
export async function makeDir(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    let st: Stats;
    try {
      st = await fsp.stat(at);
    } catch (e) {
      if (!isFsError(e) || (e.code !== 'ENOENT' && e.code !== 'ENOTDIR')) throw outputError(dir, e);
      missing.push(at);
      const up = path.dirname(at);
      if (up === at) throw outputError(dir, e);
      at = up;
      continue;
    }
    if (!st.isDirectory()) throw new OutputError(`${at}: is a file, not a folder (cannot create ${path.resolve(dir)})`);
    break;
  }
  for (const d of missing.reverse()) {
    try {
      await fsp.mkdir(d);
    } catch (e) {
      if (isFsError(e) && e.code === 'EEXIST' && (await fsp.stat(d).catch(() => null))?.isDirectory()) continue; // made meanwhile
      const where = isFsError(e) && e.code === 'ENOENT' ? `${path.dirname(d)} does not allow new folders` : fsErrorText(e);
      throw new OutputError(`${path.resolve(dir)}: cannot create the folder: ${where}`);
    }
  }
}

/** Where writeDirAtomic keeps the previous version of `target` while it swaps the new one in. */
export function previousPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.previous`);
}

/**
 * Finishes a directory swap that a crash interrupted between its two renames: if `target` is missing but
 * its previous version is there, the previous version is put back; if both are there, the stale previous
 * version is removed. Returns whether `target` exists afterwards.
 */
export async function recoverDir(target: string): Promise<boolean> {
  const prev = previousPath(target);
  const [hasTarget, hasPrev] = await Promise.all([exists(target), exists(prev)]);
  if (hasPrev && !hasTarget) await fsp.rename(prev, target);
  else if (hasPrev) await fsp.rm(prev, { recursive: true, force: true });
  return hasTarget || hasPrev;
}

/**
 * Replaces a whole directory atomically: `fill` writes into a fresh temp directory, which is then renamed
 * to `target`. An existing target is first renamed to a fixed backup name (previousPath), so a crash between
 * the two renames loses nothing: recoverDir (called here, and by readers that list such folders) puts it back.
 * A target that is not a folder is refused (it would be replaced). Used for checkpoints and data caches.
 */
export async function writeDirAtomic(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const st = await fsp.stat(target).catch(() => null);
  if (st && !st.isDirectory()) throw new OutputError(`${target}: is a file, not a folder`);
  await makeDir(path.dirname(path.resolve(target)));
  const existed = await recoverDir(target).catch((e: unknown) => {
    throw outputError(target, e);
  });
  const tmp = tempPath(target);
  await fsp.mkdir(tmp).catch((e: unknown) => {
    throw outputError(target, e);
  });
  try {
    await fill(tmp);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
  const prev = previousPath(target);
  try {
    if (existed) await fsp.rename(target, prev);
    await fsp.rename(tmp, target);
    await syncDir(path.dirname(target));
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw outputError(target, e);
  }
  if (existed) await fsp.rm(prev, { recursive: true, force: true });
}

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(
    () => true,
    () => false,
  );
}

/** fsyncs a directory so the renames in it survive a power loss, not only a process crash. */
async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
