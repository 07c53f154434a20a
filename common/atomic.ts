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

/**
 * Replaces a whole directory atomically: `fill` writes into a fresh temp directory, which is then renamed
 * to `target` (an existing target is moved aside first and removed after). Used for checkpoints.
 */
export async function writeDirAtomic(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPath(target);
  await fsp.mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = `${tmp}.old`;
  const exists = await fsp.stat(target).then(() => true, () => false);
  if (exists) await fsp.rename(target, old);
  await fsp.rename(tmp, target);
  if (exists) await fsp.rm(old, { recursive: true, force: true });
}
