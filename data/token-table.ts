/**
 * Token rows of variable length in one flat array: row i is `values[offsets[i] .. offsets[i+1])`.
 * Ids fit in uint16 for vocabularies up to 65536 (bert-base-uncased: 30522), halving memory and disk.
 */
export type TokenValues = Uint16Array | Int32Array;

export interface TokenTable {
  rows: number;
  offsets: Int32Array; // [rows + 1]
  values: TokenValues; // [offsets[rows]]
}

export const tokenWidth = (vocabSize: number): 16 | 32 => (vocabSize <= 65536 ? 16 : 32);

/** Appends rows into growable buffers; `take()` hands out what was added and starts over. */
export class TokenTableBuilder {
  private values: TokenValues;
  private offsets = new Int32Array(1024);
  rows = 0;
  private used = 0;

  constructor(private readonly width: 16 | 32) {
    this.values = width === 16 ? new Uint16Array(1 << 16) : new Int32Array(1 << 16);
  }

  add(ids: ArrayLike<number>): void {
    if (this.used + ids.length > this.values.length) {
      let len = this.values.length * 2;
      while (this.used + ids.length > len) len *= 2;
      const grown = this.width === 16 ? new Uint16Array(len) : new Int32Array(len);
      grown.set(this.values.subarray(0, this.used));
      this.values = grown;
    }
    this.values.set(ids, this.used);
    this.used += ids.length;
    if (this.rows + 2 > this.offsets.length) {
      const grown = new Int32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.rows++;
    this.offsets[this.rows] = this.used;
  }

  take(): TokenTable {
    const t: TokenTable = { rows: this.rows, offsets: this.offsets.slice(0, this.rows + 1), values: this.values.slice(0, this.used) };
    this.rows = 0;
    this.used = 0;
    return t;
  }
}

/** Concatenates tables (the shards of one part) into one. */
export function concatTables(tables: TokenTable[], width: 16 | 32): TokenTable {
  const rows = tables.reduce((s, t) => s + t.rows, 0);
  const total = tables.reduce((s, t) => s + t.offsets[t.rows], 0);
  const offsets = new Int32Array(rows + 1);
  const values = width === 16 ? new Uint16Array(total) : new Int32Array(total);
  let r = 0;
  let v = 0;
  for (const t of tables) {
    for (let i = 1; i <= t.rows; i++) offsets[r + i] = v + t.offsets[i] - t.offsets[0];
    values.set(t.values.subarray(t.offsets[0], t.offsets[t.rows]), v);
    r += t.rows;
    v += t.offsets[t.rows] - t.offsets[0];
  }
  return { rows, offsets, values };
}
