import { promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  Field,
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
 * - triple shards: `q`, `pos`, `neg` Int32 (rows of the query / passage tables), `pos_score`, `neg_score` Float32
 */
export interface ShardInfo {
  file: string;
  rows: number;
  bytes: number;
}

export interface TripleRows {
  rows: number;
  q: Int32Array;
  pos: Int32Array;
  neg: Int32Array;
  posScore: Float32Array;
  negScore: Float32Array;
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
  return fsp.writeFile(path.join(dir, name), bytes).then(() => ({ file: name, rows, bytes: bytes.length }));
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

export function writeTripleShard(dir: string, name: string, t: TripleRows): Promise<ShardInfo> {
  const int = (data: Int32Array) => makeData({ type: new Int32(), length: t.rows, nullCount: 0, data });
  const float = (data: Float32Array) => makeData({ type: new Float32(), length: t.rows, nullCount: 0, data });
  const fields: Field[] = ['q', 'pos', 'neg'].map((n) => new Field(n, new Int32(), false));
  fields.push(new Field('pos_score', new Float32(), false), new Field('neg_score', new Float32(), false));
  return write(dir, name, fields, [int(t.q), int(t.pos), int(t.neg), float(t.posScore), float(t.negScore)], t.rows);
}

/** Reads a shard whole, checking it against the manifest's size and row count first. */
async function readShard(dir: string, info: ShardInfo): Promise<Table> {
  const file = path.join(dir, info.file);
  const fix = 'a complete shard as manifest.json lists it (delete the cache folder and run `data prepare` again)';
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (e) {
    throw new InputError(file, undefined, fix, (e as Error).message);
  }
  if (bytes.length !== info.bytes) throw new InputError(file, undefined, `${info.bytes} bytes: ${fix}`, `${bytes.length} bytes`);
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

export async function readTripleShard(dir: string, info: ShardInfo): Promise<TripleRows> {
  const table = await readShard(dir, info);
  const file = path.join(dir, info.file);
  const get = <A>(name: string) => {
    const d = column(table, name, file);
    return (d.values as unknown as { subarray(a: number, b: number): A }).subarray(d.offset, d.offset + d.length);
  };
  return {
    rows: table.numRows,
    q: get<Int32Array>('q'),
    pos: get<Int32Array>('pos'),
    neg: get<Int32Array>('neg'),
    posScore: get<Float32Array>('pos_score'),
    negScore: get<Float32Array>('neg_score'),
  };
}
