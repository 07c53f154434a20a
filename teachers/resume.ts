import { promises as fsp } from 'node:fs';

/**
 * Crash-safe appending for long scoring runs. The output is appended batch by batch and fsynced after
 * each batch, so after a crash (kill -9, power loss) it holds N whole lines and at most one torn line.
 * On restart the torn tail is cut off and the run skips the N inputs already scored: no line is lost or
 * written twice.
 */

/** Counts the whole lines of `file` (each ending in `\n`) and truncates anything after the last `\n`. */
export async function recoverLines(file: string): Promise<{ lines: number; truncated: number; lastLine: string | null }> {
  const fh = await fsp.open(file, 'r+');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(1 << 20);
    let lines = 0;
    let lastNl = -1;
    let prevNl = -1;
    for (let off = 0; off < size; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, off);
      if (bytesRead === 0) break;
      for (let i = buf.indexOf(0x0a, 0); i >= 0 && i < bytesRead; i = buf.indexOf(0x0a, i + 1)) {
        lines++;
        prevNl = lastNl;
        lastNl = off + i;
      }
      off += bytesRead;
    }
    const keep = lastNl + 1;
    if (keep < size) {
      await fh.truncate(keep);
      await fh.sync();
    }
    let lastLine: string | null = null;
    if (lines > 0) {
      const len = lastNl - (prevNl + 1);
      const b = Buffer.alloc(len);
      await fh.read(b, 0, len, prevNl + 1);
      lastLine = b.toString('utf8');
    }
    return { lines, truncated: size - keep, lastLine };
  } finally {
    await fh.close();
  }
}

/** An append-only line file that makes each batch durable before the next starts. */
export class DurableAppender {
  private constructor(private readonly fh: fsp.FileHandle) {}

  static async open(file: string): Promise<DurableAppender> {
    return new DurableAppender(await fsp.open(file, 'a'));
  }

  /** Appends the lines (each ending in `\n`) and fsyncs: once this resolves, the batch survives a crash. */
  async appendBatch(text: string): Promise<void> {
    await this.fh.appendFile(text);
    await this.fh.sync();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
