import { Rng } from '../common/rng.js';
import type { TripleRows } from './shards.js';

/** A different, reproducible stream for every (seed, epoch). */
export const epochSeed = (seed: number, epoch: number): number => Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35);

/** Fixed-capacity columns of triple rows (a batch being assembled, or the shuffle buffer). */
export class RowBuf {
  readonly q: Int32Array;
  readonly pos: Int32Array;
  readonly neg: Int32Array;
  readonly ps: Float32Array;
  readonly ns: Float32Array;
  constructor(readonly capacity: number) {
    this.q = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
    this.neg = new Int32Array(capacity);
    this.ps = new Float32Array(capacity);
    this.ns = new Float32Array(capacity);
  }
  copyFrom(i: number, src: RowBuf | TripleRows, j: number): void {
    const s = src instanceof RowBuf ? src : { q: src.q, pos: src.pos, neg: src.neg, ps: src.posScore, ns: src.negScore };
    this.q[i] = s.q[j];
    this.pos[i] = s.pos[j];
    this.neg[i] = s.neg[j];
    this.ps[i] = s.ps[j];
    this.ns[i] = s.ns[j];
  }
}

/**
 * The triple rows of all epochs in a seeded order: per epoch, the shard order is permuted (when
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
  private current: TripleRows | null = null;
  private rowPos = 0;
  private readonly buffer: RowBuf;
  private bufLen = 0;
  private done = false;

  constructor(
    private readonly shards: number,
    private readonly load: (shard: number) => Promise<TripleRows>,
    private readonly seed: number,
    capacity: number,
    private readonly epochs: number,
  ) {
    this.buffer = new RowBuf(capacity);
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
