import { Rng } from '../common/rng.js';
import type { GroupRows } from './shards.js';

/** A different, reproducible stream for every (seed, epoch). */
export const epochSeed = (seed: number, epoch: number): number => Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35);

/** Fixed-capacity columns of group rows (a batch being assembled, or the shuffle buffer). */
export class RowBuf {
  readonly q: Int32Array; // [capacity]
  readonly p: Int32Array; // [capacity * group]
  readonly score: Float32Array; // [capacity * group]
  constructor(
    readonly capacity: number,
    readonly group: number,
  ) {
    this.q = new Int32Array(capacity);
    this.p = new Int32Array(capacity * group);
    this.score = new Float32Array(capacity * group);
  }
  copyFrom(i: number, src: RowBuf | GroupRows, j: number): void {
    const g = this.group;
    this.q[i] = src.q[j];
    this.p.set(src.p.subarray(j * g, (j + 1) * g), i * g);
    this.score.set(src.score.subarray(j * g, (j + 1) * g), i * g);
  }
}

/**
 * The group rows of all epochs in a seeded order: per epoch, the shard order is permuted (when
 * shuffling at all) and rows pass through a shuffle buffer of `capacity` rows (as tf.data's shuffle:
 * each incoming row replaces a uniformly drawn buffered row, which is emitted; the buffer is drained at
 * the end of each epoch, so epochs never mix). The order is a pure function of (data, seed, capacity),
 * which is what makes a cursor (a count of rows taken) enough to resume exactly.
 */
export class ShuffledRows {
  epoch = 0;
  private rand = new Rng(0);
  private order: number[] = [];
  private shardPos = 0;
  private current: GroupRows | null = null;
  private rowPos = 0;
  private readonly buffer: RowBuf;
  private bufLen = 0;
  private done = false;

  constructor(
    private readonly shards: number,
    private readonly load: (shard: number) => Promise<GroupRows>,
    private readonly seed: number,
    capacity: number,
    group: number,
    private readonly epochs: number,
  ) {
    this.buffer = new RowBuf(capacity, group);
    this.startEpoch();
  }

  private startEpoch(): void {
    this.rand = new Rng(epochSeed(this.seed, this.epoch));
    const ids = Array.from({ length: this.shards }, (_, i) => i);
    this.order = this.buffer.capacity > 1 ? this.rand.shuffle(ids) : ids;
    this.shardPos = 0;
    this.current = null;
    this.rowPos = 0;
  }

  /** Moves up to `n` rows into `dst` (or drops them when `dst` is null); returns how many. */
  async take(n: number, dst: RowBuf | null): Promise<number> {
    const buf = this.buffer;
    let filled = 0;
    while (filled < n && !this.done) {
      const cur = this.current;
      if (cur && this.rowPos < cur.rows) {
        if (this.bufLen < buf.capacity) {
          buf.copyFrom(this.bufLen++, cur, this.rowPos++);
          continue;
        }
        const j = this.rand.int(this.bufLen);
        if (dst) dst.copyFrom(filled, buf, j);
        filled++;
        buf.copyFrom(j, cur, this.rowPos++);
        continue;
      }
      if (this.shardPos < this.order.length) {
        this.current = await this.load(this.order[this.shardPos++]);
        this.rowPos = 0;
        continue;
      }
      if (this.bufLen > 0) {
        const j = this.rand.int(this.bufLen);
        if (dst) dst.copyFrom(filled, buf, j);
        filled++;
        buf.copyFrom(j, buf, --this.bufLen);
        continue;
      }
      if (++this.epoch >= this.epochs) this.done = true;
      else this.startEpoch();
    }
    return filled;
  }
}
