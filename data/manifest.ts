import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { BadLines } from '../common/errors.js';
import { InputError } from '../common/errors.js';
import { shardMismatch, type ShardInfo } from './shards.js';

export const MANIFEST = 'manifest.json';
export const CACHE_FORMAT = 'margin-mse-data/2';

export interface SourceFile {
  path: string;
  size: number;
  mtime_ms: number;
}

/** Everything the cache depends on: equal inputs → `data prepare` has nothing to do. */
export interface CacheInputs {
  format: typeof CACHE_FORMAT;
  /** The triple file and its form (null when training on groups). */
  triples: SourceFile | null;
  triples_format: string | null;
  /** The group source, its files and sampling settings (null when training on triples). */
  groups: GroupSource | null;
  collection: SourceFile | null;
  queries: SourceFile | null;
  vocab: { path: string; sha256: string };
  query_max_length: number;
  passage_max_length: number;
  repair_mojibake: boolean;
  on_bad_line: string;
  max_triples: number | null;
  shard_rows: number;
}

export interface GroupSource {
  source: string;
  files: Record<string, SourceFile>;
  negatives: number;
  per_query: number;
  seed: number;
}

export interface TablePart {
  rows: number;
  /** Token ids stored, including [CLS]/[SEP]. */
  tokens: number;
  /** Texts cut to the maximum length. */
  truncated: number;
  shards: ShardInfo[];
}

export interface Manifest {
  inputs: CacheInputs;
  vocab_size: number;
  /** Bits per stored token id (16: uint16). */
  token_width: 16 | 32;
  has_teacher: boolean;
  queries: TablePart;
  passages: TablePart;
  /** Training examples: groups of one query and `size` = 1 + K passages (triples are groups of 2). */
  groups: { rows: number; size: number; shards: ShardInfo[] };
  skipped: Record<string, ReturnType<BadLines['toJSON']>>;
  created: string;
  seconds: number;
}

/** Size and mtime identify a source (hashing the 3 GB collection on every run would cost more than it saves). */
export async function sourceFile(file: string): Promise<SourceFile> {
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    return { path: path.resolve(file), size: st.size, mtime_ms: Math.floor(st.mtimeMs) };
  } catch (e) {
    throw new InputError(file, undefined, 'a readable input file', (e as Error).message);
  }
}

export async function readManifest(cacheDir: string): Promise<Manifest> {
  const file = path.join(cacheDir, MANIFEST);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    throw new InputError(file, undefined, 'a data cache manifest (run `margin-mse data prepare` first)', (e as Error).message);
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new InputError(file, undefined, 'valid JSON', (e as Error).message);
  }
  if (m?.inputs?.format !== CACHE_FORMAT) throw new InputError(file, undefined, `a manifest of format ${CACHE_FORMAT}`, String(m?.inputs?.format));
  return m;
}

/**
 * The existing manifest if it was made from exactly these inputs and all its shards are in place with the
 * content it lists (sha256: a shard changed in place is rebuilt, not used; a manifest without hashes, from
 * before they were kept, is rebuilt once).
 */
export async function reusable(cacheDir: string, inputs: CacheInputs): Promise<Manifest | null> {
  let m: Manifest;
  try {
    m = await readManifest(cacheDir);
  } catch {
    return null;
  }
  if (JSON.stringify(m.inputs) !== JSON.stringify(inputs)) return null;
  for (const s of [...m.queries.shards, ...m.passages.shards, ...m.groups.shards]) {
    if (typeof s.sha256 !== 'string' || (await shardMismatch(cacheDir, s)) !== null) return null;
  }
  return m;
}
