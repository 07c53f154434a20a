import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDir, previousPath, recoverDir, writeDirAtomic, writeFileAtomic } from './atomic.js';
import { OutputError } from './errors.js';
import { promises as fsp } from 'node:fs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'atomic-'));

describe('atomic writes', () => {
  it('replaces a file and leaves no temp file', async () => {
    const p = path.join(dir, 'sub', 'f.txt');
    await writeFileAtomic(p, 'one');
    await writeFileAtomic(p, 'two');
    expect(readFileSync(p, 'utf8')).toBe('two');
    expect(readdirSync(path.dirname(p))).toEqual(['f.txt']);
  });

  it('a directory whose filling fails leaves the old directory whole and no temp dir', async () => {
    const target = path.join(dir, 'ckpt');
    await writeDirAtomic(target, (d) => fsp.writeFile(path.join(d, 'w'), 'v1'));
    await expect(
      writeDirAtomic(target, async (d) => {
        await fsp.writeFile(path.join(d, 'w'), 'half');
        throw new Error('crash mid-write');
      }),
    ).rejects.toThrow('crash mid-write');
    expect(readFileSync(path.join(target, 'w'), 'utf8')).toBe('v1');
    expect(readdirSync(dir).filter((n) => n.startsWith('ckpt') || n.startsWith('.ckpt')).sort()).toEqual(['ckpt']);
    await writeDirAtomic(target, (d) => fsp.writeFile(path.join(d, 'w'), 'v2'));
    expect(readFileSync(path.join(target, 'w'), 'utf8')).toBe('v2');
    expect(existsSync(`${target}.old`)).toBe(false);
  });
});

describe('recoverDir', () => {
  it('puts back a directory a crash left under its backup name, and the next write succeeds', async () => {
    const target = path.join(dir, 'best');
    await writeDirAtomic(target, (d) => fsp.writeFile(path.join(d, 'w'), 'v1'));
    // The state a crash between writeDirAtomic's two renames leaves: only the previous version, renamed.
    await fsp.rename(target, previousPath(target));
    expect(await recoverDir(target)).toBe(true);
    expect(readFileSync(path.join(target, 'w'), 'utf8')).toBe('v1');
    expect(existsSync(previousPath(target))).toBe(false);
    await fsp.rename(target, previousPath(target));
    await writeDirAtomic(target, (d) => fsp.writeFile(path.join(d, 'w'), 'v2'));
    expect(readFileSync(path.join(target, 'w'), 'utf8')).toBe('v2');
    expect(existsSync(previousPath(target))).toBe(false);
  });

  it('removes a stale backup when the target is whole, and says when there is nothing', async () => {
    const target = path.join(dir, 'cache');
    await writeDirAtomic(target, (d) => fsp.writeFile(path.join(d, 'w'), 'new'));
    await fsp.mkdir(previousPath(target));
    expect(await recoverDir(target)).toBe(true);
    expect(existsSync(previousPath(target))).toBe(false);
    expect(await recoverDir(path.join(dir, 'none'))).toBe(false);
  });
});

describe('atomic writes that cannot be made', () => {
  it('a folder as the target is an OutputError naming it, and leaves no temp file beside it', async () => {
    const parent = mkdtempSync(path.join(os.tmpdir(), 'atomic-dir-'));
    const target = path.join(parent, 'out');
    mkdirSync(target);
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(OutputError);
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(target);
    expect(readdirSync(parent)).toEqual(['out']);
  });

  it('a path below a file names the file in the way', async () => {
    const file = path.join(dir, 'plain');
    writeFileSync(file, 'keep\n');
    await expect(writeFileAtomic(path.join(file, 'x.txt'), 'x')).rejects.toThrow(`${file}: is a file, not a folder`);
    expect(readFileSync(file, 'utf8')).toBe('keep\n');
  });

  it('a link is kept: the file it points to is replaced', async () => {
    const real = path.join(dir, 'real.txt');
    const link = path.join(dir, 'link.txt');
    writeFileSync(real, 'old');
    symlinkSync(real, link);
    await writeFileAtomic(link, 'new');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('new');
  });

  it('a device is written through (its error reaches the caller), never replaced', async () => {
    const link = path.join(dir, 'full');
    symlinkSync('/dev/full', link);
    await expect(writeFileAtomic(link, 'x')).rejects.toThrow(/no space left on device \(ENOSPC\)/);
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('makeDir under /proc fails at once (Node\'s recursive mkdir spins there for ever)', async () => {
    const t0 = Date.now();
    await expect(makeDir('/proc/margin-mse-test/a/b')).rejects.toThrow('/proc does not allow new folders');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('writeDirAtomic refuses a target that is a file', async () => {
    const file = path.join(dir, 'not-a-dir');
    writeFileSync(file, 'keep\n');
    await expect(writeDirAtomic(file, async () => {})).rejects.toThrow(`${file}: is a file, not a folder`);
    expect(readFileSync(file, 'utf8')).toBe('keep\n');
  });
});
