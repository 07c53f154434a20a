import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { makeDir, writeFileAtomic, writeJsonAtomic } from '../common/atomic.js';
import { InputError } from '../common/errors.js';
import { WEIGHT_FILES } from '../models/weights/folder.js';
import { embedTexts, type Encoder, type TextTokenizer } from './embed.js';
import { decodeHalf, encodeHalf } from './float16.js';

/**
 * The vector index of a collection: what `eval encode` writes (passage embeddings in shards, with their ids and a
 * manifest) and `eval retrieve` scans. Not data/'s token cache, whose shards and manifest are another format.
 */
export type VectorDtype = 'float32' | 'float16';

/** `shard-00003.json`: written last, after the shard's vectors and ids, so its presence means "done". */
export interface VectorShard {
  index: number;
  rows: number;
  dim: number;
  dtype: VectorDtype;
  /** Raw little-endian vectors [rows, dim]. */
  vectors: string;
  /** Passage ids, one per line, in vector order. */
  ids: string;
  /** sha256 of the two files: a file changed in place (same size) is refused, not searched. */
  sha256: { vectors: string; ids: string };
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * Which encoder made the vectors: `model` names it (its folder) for messages, `weights` is what decides the
 * vectors (the sha256 of its weight file, `modelIdentity`): a folder whose weights were replaced in place is
 * another model, and a copy of the same weights elsewhere is the same one.
 */
export interface ModelIdentity {
  model: string;
  weights: string;
}

/** The identity of a model folder: its path and the sha256 of the weight file a loader reads (models/weights/folder.ts). */
export async function modelIdentity(dir: string): Promise<ModelIdentity> {
  const file = WEIGHT_FILES.map((name) => path.join(dir, name)).find((f) => existsSync(f));
  if (!file) throw new InputError(dir, undefined, `a model folder with ${WEIGHT_FILES.join(' or ')}`, 'neither file');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { model: path.resolve(dir), weights: `sha256:${hash.digest('hex')}` };
}

export interface IndexManifest {
  /** Everything that decides the vectors: a resumed run must match it (the model folder's path aside). */
  config: ModelIdentity & { maxLength: number; shardSize: number; dtype: VectorDtype };
  dim: number;
  /** Collection rows and shards seen by the last process to finish. */
  rows: number;
  shardCount: number;
  /** Shards whose files are complete. */
  shards: VectorShard[];
  complete: boolean;
}

export interface EncodeOptions extends ModelIdentity {
  maxLength: number;
  batchSize: number;
  shardSize: number;
  dtype: VectorDtype;
  /** This process encodes the shards with `index % of === part` (`--shard part/of`). */
  part?: { part: number; of: number };
  onShard?: (info: VectorShard, skipped: boolean) => void;
}

const shardName = (i: number): string => `shard-${String(i).padStart(5, '0')}`;

/**
 * Embeds a collection into shards of `shardSize` passages under `outDir`: `shard-NNNNN.{f32|f16}`,
 * `.ids`, `.json` each, plus `manifest.json`. Resumable: shards whose `.json` exists are skipped (every
 * file is written atomically, the `.json` last). Splittable: with `part`, several processes or machines
 * share the shards of one collection; each reads the whole collection stream (cheap next to encoding) and
 * writes only its own shards, then a manifest of all shards complete so far.
 */
export async function encodeCollection(
  model: Encoder,
  tokenizer: TextTokenizer,
  collection: AsyncIterable<{ id: string; text: string }>,
  outDir: string,
  opts: EncodeOptions,
): Promise<IndexManifest> {
  const config = { model: opts.model, weights: opts.weights, maxLength: opts.maxLength, shardSize: opts.shardSize, dtype: opts.dtype };
  await makeDir(outDir);
  const manifestFile = path.join(outDir, 'manifest.json');
  const previous = await readIndexManifest(outDir).catch(() => undefined);
  if (previous) {
    // Resuming (or another --shard part): every shard must come from the same weights and settings.
    checkSameModel(manifestFile, previous.config, config, 'encode');
    const { model: _a, weights: _b, ...was } = previous.config;
    const { model: _c, weights: _d, ...now } = config;
    if (JSON.stringify(was) !== JSON.stringify(now)) {
      throw new InputError(manifestFile, undefined, `the settings this index was encoded with, ${JSON.stringify(was)} (use another --out for other settings)`, JSON.stringify(now));
    }
  }
  const { part = 0, of = 1 } = opts.part ?? {};
  if (!(Number.isInteger(part) && Number.isInteger(of) && part >= 0 && part < of)) throw new InputError('--shard', undefined, 'i/n with 0 <= i < n', `${part}/${of}`);

  let rows = 0;
  let ids: string[] = [];
  let texts: string[] = [];
  const flush = async (index: number): Promise<void> => {
    const mine = index % of === part;
    if (mine) {
      const jsonFile = path.join(outDir, `${shardName(index)}.json`);
      const done = await fsp.readFile(jsonFile, 'utf8').then((t) => JSON.parse(t) as VectorShard, () => undefined);
      if (done && done.rows === ids.length) {
        opts.onShard?.(done, true);
      } else {
        const { vectors, dim } = await embedTexts(model, tokenizer, texts, opts.maxLength, opts.batchSize); // [rows, dim]
        const ext = opts.dtype === 'float32' ? 'f32' : 'f16';
        const data = opts.dtype === 'float32' ? vectors : encodeHalf(vectors);
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        const idText = `${ids.join('\n')}\n`;
        const info: VectorShard = {
          index, rows: ids.length, dim, dtype: opts.dtype, vectors: `${shardName(index)}.${ext}`, ids: `${shardName(index)}.ids`,
          sha256: { vectors: sha256(bytes), ids: sha256(idText) },
        };
        await writeFileAtomic(path.join(outDir, info.vectors), bytes);
        await writeFileAtomic(path.join(outDir, info.ids), idText);
        await writeJsonAtomic(jsonFile, info);
        opts.onShard?.(info, false);
      }
    }
    ids = [];
    texts = [];
  };
  let shard = 0;
  for await (const { id, text } of collection) {
    rows++;
    ids.push(id);
    texts.push(text);
    if (ids.length === opts.shardSize) await flush(shard++);
  }
  if (ids.length) await flush(shard++);

  const shards: VectorShard[] = [];
  for (let i = 0; i < shard; i++) {
    const info = await fsp.readFile(path.join(outDir, `${shardName(i)}.json`), 'utf8').then((t) => JSON.parse(t) as VectorShard, () => undefined);
    if (info) shards.push(info);
  }
  const manifest: IndexManifest = { config, dim: shards[0]?.dim ?? 0, rows, shardCount: shard, shards, complete: shards.length === shard };
  await writeJsonAtomic(path.join(outDir, 'manifest.json'), manifest);
  return manifest;
}

/**
 * Refuses an encoder other than the one the index was made with (`doing` says what was asked): vectors of two
 * models in one index, or queries of one model against passages of another, rank by nonsense.
 */
export function checkSameModel(manifestFile: string, index: ModelIdentity, now: ModelIdentity, doing: 'encode' | 'retrieve'): void {
  if (index.weights === now.weights) return;
  const short = (w: string | undefined) => (w === undefined ? 'weights not recorded' : `weights ${w.slice(0, 19)}…`);
  throw new InputError(
    manifestFile,
    undefined,
    `the model this index was encoded with (${index.model}, ${short(index.weights)}) to ${doing === 'encode' ? 'encode more of it' : 'retrieve from it'}`,
    `${now.model} with ${short(now.weights)}: another model, or its weights changed in place (${doing === 'encode' ? 'encode into another --out' : "retrieve with the index's model, or encode an index with this one"})`,
  );
}

export async function readIndexManifest(dir: string): Promise<IndexManifest> {
  const file = path.join(dir, 'manifest.json');
  const text = await fsp.readFile(file, 'utf8');
  try {
    return JSON.parse(text) as IndexManifest;
  } catch (e) {
    throw new InputError(file, undefined, 'an index manifest (JSON) written by eval encode', (e as Error).message);
  }
}

/** Loads one shard's vectors as float32 [rows, dim] and its ids. */
export async function loadVectorShard(dir: string, info: VectorShard): Promise<{ ids: string[]; vectors: Float32Array }> {
  const buf = await fsp.readFile(path.join(dir, info.vectors));
  const bytesPer = info.dtype === 'float32' ? 4 : 2;
  if (buf.byteLength !== info.rows * info.dim * bytesPer) {
    throw new InputError(path.join(dir, info.vectors), undefined, `${info.rows} x ${info.dim} ${info.dtype} (${info.rows * info.dim * bytesPer} bytes; encode the index again)`, `${buf.byteLength} bytes`);
  }
  // A same-size change (a flipped bit) would rank by wrong scores without a sign: the shard's .json has hashes.
  const redo = `the content ${shardName(info.index)}.json lists (remove that .json and run eval encode again: it encodes that shard anew)`;
  if (sha256(buf) !== info.sha256?.vectors) throw new InputError(path.join(dir, info.vectors), undefined, redo, 'a file changed since it was written (sha256 differs)');
  // Copy into an aligned buffer: a Buffer from readFile may sit at an odd offset in Node's pool.
  const raw = new Uint8Array(buf).buffer;
  const vectors = info.dtype === 'float32' ? new Float32Array(raw) : decodeHalf(new Uint16Array(raw));
  const idText = await fsp.readFile(path.join(dir, info.ids), 'utf8');
  if (sha256(idText) !== info.sha256?.ids) throw new InputError(path.join(dir, info.ids), undefined, redo, 'a file changed since it was written (sha256 differs)');
  const ids = idText.split('\n').filter((l) => l !== '');
  if (ids.length !== info.rows) throw new InputError(path.join(dir, info.ids), undefined, `${info.rows} ids (encode the index again)`, String(ids.length));
  return { ids, vectors };
}
