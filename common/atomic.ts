import { promises as fsp } from 'node:fs';
import path from 'node:path';

/**
 * Atomic writes: data goes to a temp file beside the target, is fsynced, then renamed over it. A crash
 * leaves either the old file or the new one, never a torn one; leftover `*.tmp-*` files are ignored by readers.
 */
export function tempPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${Date.now()}`);
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPath(target);
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, target);
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, `${JSON.stringify(value, null, 2)}\n`);
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
 * Used for checkpoints and data caches.
 */
export async function writeDirAtomic(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const existed = await recoverDir(target);
  const tmp = tempPath(target);
  await fsp.mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const prev = previousPath(target);
  if (existed) await fsp.rename(target, prev);
  await fsp.rename(tmp, target);
  await syncDir(path.dirname(target));
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
