import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDirAtomic, writeFileAtomic } from './atomic.js';
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
    expect(readdirSync(dir).sort()).toEqual(['ckpt', 'sub']);
    await writeDirAtomic(target, (d) => fsp.writeFile(path.join(d, 'w'), 'v2'));
    expect(readFileSync(path.join(target, 'w'), 'utf8')).toBe('v2');
    expect(existsSync(`${target}.old`)).toBe(false);
  });
});
