import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { previousPath, recoverDir, writeDirAtomic, writeFileAtomic } from './atomic.js';
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
