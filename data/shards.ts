import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  Field,
  FixedSizeList,
  Float32,
  Int32,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Uint16,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  type Data,
  type DataType,
} from 'apache-arrow';
import { InputError } from '../common/errors.js';
import type { TokenTable, TokenValues } from './token-table.js';

/**
 * Arrow IPC shards of the data cache. Each shard is one bounded record batch in the IPC file format,
 * written in one call (no streaming writer, so no backpressure problem) and read whole.
 * - token shards (queries, passages): `id` Utf8, `ids` List<Uint16> (List<Int32> for vocabularies > 65536)
 * - group shards: `q` Int32 (a row of the query table), `p` FixedSizeList<Int32>[G] (rows of the passage
 *   table: the positive, then K negatives) and `score` FixedSizeList<Float32>[G] (their teacher scores)
 */
export interface ShardInfo {
  file: string;
  rows: number;
  bytes: number;
  /** sha256 of the file: a shard changed in place (same size, a flipped token id) is never used. */
  sha256: string;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Shards this process has checked against their manifest hash, by path, sha256 and modification time:
 * `data prepare` hashes every shard before reusing a cache and the batcher reads group shards once per epoch,
 * so an unchanged file is hashed once per process, not at every read (a write since changes its mtime).
 */
const verified = new Set<string>();
const verifiedKey = (file: string, info: ShardInfo, mtimeMs: number) => `${file}\0${info.sha256}\0${mtimeMs}`;

/** What to do about a shard that is not as manifest.json lists it. */
export const REBUILD = 'run `margin-mse data prepare` again: it rebuilds a cache whose shards changed';

/** Groups of one query and G passages, flat: group i's passages are `p[i * group .. (i + 1) * group)`. */
export interface GroupRows {
  rows: number;
  group: number;
  q: Int32Array; // [rows]
  p: Int32Array; // [rows * group]
  score: Float32Array; // [rows * group]
}

const utf8 = new TextEncoder();

function utf8Column(strings: string[]): Data<Utf8> {
  const bytes = utf8.encode(strings.join(''));
  const valueOffsets = new Int32Array(strings.length + 1);
  let pos = 0;
  for (let i = 0; i < strings.length; i++) {
    pos += Buffer.byteLength(strings[i], 'utf8');
    valueOffsets[i + 1] = pos;
  }
  return makeData({ type: new Utf8(), length: strings.length, nullCount: 0, valueOffsets, data: bytes });
}

function write(dir: string, name: string, fields: Field[], children: Data[], rows: number): Promise<ShardInfo> {
  const schema = new Schema(fields);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows, nullCount: 0, children }));
  const bytes = tableToIPC(new Table([batch]), 'file');
  return fsp.writeFile(path.join(dir, name), bytes).then(() => ({ file: name, rows, bytes: bytes.length, sha256: sha256(bytes) }));
}

export function writeTokenShard(dir: string, name: string, ids: string[], table: TokenTable): Promise<ShardInfo> {
  const item = table.values instanceof Uint16Array ? new Uint16() : new Int32();
  const listType = new List(new Field('item', item, false));
  const tokens = makeData({
    type: listType,
    length: table.rows,
    nullCount: 0,
    valueOffsets: table.offsets,
    child: makeData({ type: item, length: table.values.length, nullCount: 0, data: table.values }),
  });
  const fields = [new Field('id', new Utf8(), false), new Field('ids', listType, false)];
  return write(dir, name, fields, [utf8Column(ids), tokens], table.rows);
}

export function writeGroupShard(dir: string, name: string, t: GroupRows): Promise<ShardInfo> {
  const pType = new FixedSizeList(t.group, new Field('item', new Int32(), false));
  const scoreType = new FixedSizeList(t.group, new Field('item', new Float32(), false));
  const n = t.rows * t.group;
  const p = makeData({ type: pType, length: t.rows, nullCount: 0, child: makeData({ type: new Int32(), length: n, nullCount: 0, data: t.p }) });
  const score = makeData({ type: scoreType, length: t.rows, nullCount: 0, child: makeData({ type: new Float32(), length: n, nullCount: 0, data: t.score }) });
  const fields = [new Field('q', new Int32(), false), new Field('p', p.type, false), new Field('score', score.type, false)];
  return write(dir, name, fields, [makeData({ type: new Int32(), length: t.rows, nullCount: 0, data: t.q }), p, score], t.rows);
}

/**
 * Why the shard file differs from what manifest.json lists (size, then content), or null when it matches.
 * Streams the file: `data prepare` checks every shard of a cache before reusing it.
 */
export async function shardMismatch(dir: string, info: ShardInfo): Promise<string | null> {
  const file = path.join(dir, info.file);
  const st = await fsp.stat(file).catch(() => null);
  if (st === null) return 'missing';
  const size = st.size;
  if (size !== info.bytes) return `${size} bytes, manifest.json lists ${info.bytes}`;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  if (hash.digest('hex') !== info.sha256) return 'content changed since it was written (sha256 differs from manifest.json)';
  verified.add(verifiedKey(file, info, st.mtimeMs));
  return null;
}

/** Reads a shard whole, checking it against the manifest's size, hash and row count first. */
async function readShard(dir: string, info: ShardInfo): Promise<Table> {
  const file = path.join(dir, info.file);
  const fix = `a complete shard as manifest.json lists it (${REBUILD})`;
  let bytes: Buffer;
  let mtimeMs: number;
  try {
    mtimeMs = (await fsp.stat(file)).mtimeMs;
    bytes = await fsp.readFile(file);
  } catch (e) {
    throw new InputError(file, undefined, fix, (e as Error).message);
  }
  if (bytes.length !== info.bytes) throw new InputError(file, undefined, `${info.bytes} bytes: ${fix}`, `${bytes.length} bytes`);
  // A same-size change (a flipped token id) would otherwise reach the model as an out-of-range gather.
  if (!verified.has(verifiedKey(file, info, mtimeMs))) {
    if (sha256(bytes) !== info.sha256) throw new InputError(file, undefined, `the content manifest.json lists (sha256 ${info.sha256}): ${REBUILD}`, 'a file changed since the cache was built');
    verified.add(verifiedKey(file, info, mtimeMs));
  }
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new InputError(file, undefined, `an Arrow IPC file: ${fix}`, (e as Error).message);
  }
  if (table.numRows !== info.rows || table.batches.length !== 1)
    throw new InputError(file, undefined, `${info.rows} rows in one record batch: ${fix}`, `${table.numRows} rows in ${table.batches.length}`);
  return table;
}

function column<T extends DataType>(table: Table, name: string, file: string): Data<T> {
  const col = table.getChild(name);
  if (!col) throw new InputError(file, undefined, `a column '${name}'`, `columns ${table.schema.fields.map((f) => f.name).join(', ')}`);
  return col.data[0] as Data<T>;
}

export async function readTokenShard(dir: string, info: ShardInfo): Promise<TokenTable> {
  const table = await readShard(dir, info);
  const data = column<List>(table, 'ids', path.join(dir, info.file));
  const offsets = data.valueOffsets as Int32Array;
  const values = data.children[0].values as TokenValues;
  // Offsets may not start at 0 inside a batch: rebase so the table is self-contained.
  const start = offsets[data.offset];
  const rebased = offsets.slice(data.offset, data.offset + data.length + 1).map((o) => o - start);
  return { rows: data.length, offsets: rebased, values: values.slice(start, start + rebased[data.length]) };
}

export async function readGroupShard(dir: string, info: ShardInfo): Promise<GroupRows> {
  const table = await readShard(dir, info);
  const file = path.join(dir, info.file);
  const q = column<Int32>(table, 'q', file);
  const p = column<FixedSizeList>(table, 'p', file);
  const score = column<FixedSizeList>(table, 'score', file);
  const group = p.type.listSize;
  const flat = <A>(d: Data<FixedSizeList>) => {
    const child = d.children[0];
    const start = child.offset + d.offset * group; // the list's offset counts lists, the child's counts values
    return (child.values as unknown as { subarray(a: number, b: number): A }).subarray(start, start + d.length * group);
  };
  return { rows: table.numRows, group, q: q.values.subarray(q.offset, q.offset + q.length), p: flat<Int32Array>(p), score: flat<Float32Array>(score) };
}
