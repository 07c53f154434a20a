import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeDirAtomic, writeJsonAtomic } from '../common/atomic.js';
import { BadLines, InputError } from '../common/errors.js';
import { resolveVocab, type DataConfig } from './config.js';
import { IdIndex } from './id-index.js';
import { CACHE_FORMAT, MANIFEST, reusable, sourceFile, type CacheInputs, type Manifest, type TablePart } from './manifest.js';
import { writeTokenShard, writeTripleShard, type ShardInfo } from './shards.js';
import { TokenTableBuilder, tokenWidth } from './token-table.js';
import { alive, describeWait, lockCache, type LockOwner } from './prepare-lock.js';
import { loadTokenizer, withSpecials, type Tokenizer } from './tokenizer.js';
import { readTriples } from './triples.js';
import { readIdText } from './tsv.js';

export interface PrepareProgress {
  part: 'passages' | 'queries' | 'triples';
  rows: number;
}

export interface PrepareResult {
  cacheDir: string;
  manifest: Manifest;
  /** True when the cache was already up to date and nothing was written. */
  reused: boolean;
}

export interface PrepareOptions {
  onProgress?: (p: PrepareProgress) => void;
  /** While another process builds the same cache (default: a line on stderr, then every 30 s). */
  onWait?: (owner: LockOwner | null, lockFile: string) => void;
}

/**
 * Files → tokenized Arrow cache in `cache_dir`:
 * - id triples: the collection and the queries are tokenized once each (`passages-*`, `queries-*`),
 *   then the triple file is joined on ids into rows of (query row, positive row, negative row, scores);
 * - text triples: each distinct text is tokenized once (deduplicated by its SHA-1) into the same tables.
 * A passage is thus tokenized once however many triples use it. The whole cache is built in a temp
 * folder and renamed into place (a crash leaves no complete-looking cache); the same inputs (sizes,
 * mtimes, vocab hash, settings) make a second run return at once.
 * Processes that prepare the same cache at once (jobs of a cluster sweep) take turns through a lock file
 * beside it (prepare-lock.ts): the first builds, the others wait and then find the cache up to date.
 */
export async function prepare(config: DataConfig, opts: PrepareOptions = {}): Promise<PrepareResult> {
  const cacheDir = path.resolve(config.cache_dir);
  const vocabFile = resolveVocab(config.vocab);
  const tok = await loadTokenizer(vocabFile);
  const byIds = config.triples_format === 'ids-scores';
  const inputs: CacheInputs = {
    format: CACHE_FORMAT,
    triples: await sourceFile(config.triples),
    triples_format: config.triples_format,
    collection: byIds ? await sourceFile(config.collection) : null,
    queries: byIds ? await sourceFile(config.queries) : null,
    vocab: { path: path.resolve(vocabFile), sha256: tok.vocabHash },
    query_max_length: config.query_max_length,
    passage_max_length: config.passage_max_length,
    repair_mojibake: config.repair_mojibake,
    on_bad_line: config.on_bad_line,
    max_triples: config.max_triples,
    shard_rows: config.shard_rows,
  };
  const existing = await reusable(cacheDir, inputs);
  if (existing) return { cacheDir, manifest: existing, reused: true };

  const release = await lockCache(cacheDir, { onWait: opts.onWait ?? ((owner, file) => process.stderr.write(describeWait(owner, file))) });
  try {
    // The process we waited for may have built this very cache.
    const built = await reusable(cacheDir, inputs);
    if (built) return { cacheDir, manifest: built, reused: true };
    return await build(cacheDir, config, inputs, tok, opts.onProgress);
  } finally {
    await release();
  }
}

async function build(cacheDir: string, config: DataConfig, inputs: CacheInputs, tok: Tokenizer, onProgress?: (p: PrepareProgress) => void): Promise<PrepareResult> {
  const format = config.triples_format;
  await removeStaleTemps(cacheDir);
  const started = Date.now();
  let manifest: Manifest | undefined;
  await writeDirAtomic(cacheDir, async (dir) => {
    const b = new Build(dir, config, tok, onProgress);
    manifest = format === 'ids-scores' ? await b.fromIds(inputs) : await b.fromTexts(inputs, format);
    manifest.seconds = (Date.now() - started) / 1000;
    await writeJsonAtomic(path.join(dir, MANIFEST), manifest);
  });
  return { cacheDir, manifest: manifest!, reused: false };
}

/**
 * A killed prepare leaves its temp folder (`.<name>.tmp-<pid>-<time>`, see common/atomic.ts) beside the
 * cache; remove those whose process is gone (a live one may be another prepare still writing).
 */
async function removeStaleTemps(cacheDir: string): Promise<void> {
  const parent = path.dirname(cacheDir);
  const prefix = `.${path.basename(cacheDir)}.tmp-`;
  const names = await fsp.readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) await fsp.rm(path.join(parent, name), { recursive: true, force: true });
  }
}

/** One token table (queries or passages) being written shard by shard. */
class TokenPart {
  private readonly builder: TokenTableBuilder;
  private ids: string[] = [];
  private readonly shards: ShardInfo[] = [];
  rows = 0;
  private tokens = 0;
  private truncated = 0;

  constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly tok: Tokenizer,
    private readonly maxLength: number,
    private readonly shardRows: number,
  ) {
    this.builder = new TokenTableBuilder(tokenWidth(tok.vocabSize));
  }

  /** Tokenizes `[CLS] text [SEP]` within maxLength (counting the texts cut); returns its row. */
  async add(id: string, text: string): Promise<number> {
    const ids = this.tok.ids(text);
    if (ids.length > this.maxLength - 2) this.truncated++;
    const row = withSpecials(ids, this.maxLength, this.tok);
    this.builder.add(row);
    this.ids.push(id);
    this.tokens += row.length;
    if (this.builder.rows >= this.shardRows) await this.flush();
    return this.rows++;
  }

  private async flush(): Promise<void> {
    if (this.builder.rows === 0) return;
    const name = `${this.name}-${String(this.shards.length).padStart(5, '0')}.arrow`;
    this.shards.push(await writeTokenShard(this.dir, name, this.ids, this.builder.take()));
    this.ids = [];
  }

  async finish(): Promise<TablePart> {
    await this.flush();
    return { rows: this.rows, tokens: this.tokens, truncated: this.truncated, shards: this.shards };
  }
}

/** Triple rows (indices into the token tables + teacher scores) being written shard by shard. */
class TriplePart {
  private q: number[] = [];
  private pos: number[] = [];
  private neg: number[] = [];
  private ps: number[] = [];
  private ns: number[] = [];
  private readonly shards: ShardInfo[] = [];
  rows = 0;

  constructor(
    private readonly dir: string,
    private readonly shardRows: number,
  ) {}

  async add(q: number, pos: number, neg: number, posScore: number, negScore: number): Promise<void> {
    this.q.push(q);
    this.pos.push(pos);
    this.neg.push(neg);
    this.ps.push(posScore);
    this.ns.push(negScore);
    this.rows++;
    if (this.q.length >= this.shardRows) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.q.length === 0) return;
    const name = `triples-${String(this.shards.length).padStart(5, '0')}.arrow`;
    const rows = { rows: this.q.length, q: Int32Array.from(this.q), pos: Int32Array.from(this.pos), neg: Int32Array.from(this.neg) };
    this.shards.push(await writeTripleShard(this.dir, name, { ...rows, posScore: Float32Array.from(this.ps), negScore: Float32Array.from(this.ns) }));
    this.q = [];
    this.pos = [];
    this.neg = [];
    this.ps = [];
    this.ns = [];
  }

  async finish(): Promise<{ rows: number; shards: ShardInfo[] }> {
    await this.flush();
    return { rows: this.rows, shards: this.shards };
  }
}

const PROGRESS_EVERY = 10_000;

class Build {
  private readonly queries: TokenPart;
  private readonly passages: TokenPart;
  private readonly triples: TriplePart;
  private readonly bad: { collection: BadLines; queries: BadLines; triples: BadLines };

  constructor(
    dir: string,
    private readonly config: DataConfig,
    private readonly tok: Tokenizer,
    private readonly onProgress?: (p: PrepareProgress) => void,
  ) {
    this.queries = new TokenPart(dir, 'queries', tok, config.query_max_length, config.shard_rows);
    this.passages = new TokenPart(dir, 'passages', tok, config.passage_max_length, config.shard_rows);
    this.triples = new TriplePart(dir, config.shard_rows);
    const policy = config.on_bad_line;
    this.bad = { collection: new BadLines(policy), queries: new BadLines(policy), triples: new BadLines(policy) };
  }

  private tick(part: PrepareProgress['part'], rows: number): void {
    if (rows % PROGRESS_EVERY === 0) this.onProgress?.({ part, rows });
  }

  /** Tokenizes an `id<TAB>text` file into `part`, indexing ids to rows. */
  private async table(file: string, part: TokenPart, bad: BadLines, name: PrepareProgress['part']): Promise<IdIndex> {
    const index = new IdIndex();
    for await (const { id, text, line } of readIdText(file, { badLines: bad, repairMojibake: this.config.repair_mojibake })) {
      if (index.get(id) >= 0) {
        bad.report(new InputError(file, line, 'each id once', `id ${id} again`));
        continue;
      }
      index.add(id, await part.add(id, text));
      this.tick(name, part.rows);
    }
    return index;
  }

  async fromIds(inputs: CacheInputs): Promise<Manifest> {
    const { config } = this;
    const pids = await this.table(config.collection, this.passages, this.bad.collection, 'passages');
    const qids = await this.table(config.queries, this.queries, this.bad.queries, 'queries');
    const file = config.triples;
    const unknown = (line: number, what: string, id: string, source: string) =>
      this.bad.triples.report(new InputError(file, line, `a ${what} present in ${source}`, `${what} ${id}`));
    for await (const t of readTriples(file, 'ids-scores', { badLines: this.bad.triples })) {
      const q = qids.get(t.qid);
      const pos = pids.get(t.posPid);
      const neg = pids.get(t.negPid);
      if (q < 0) unknown(t.line, 'qid', t.qid, config.queries);
      else if (pos < 0) unknown(t.line, 'pid', t.posPid, config.collection);
      else if (neg < 0) unknown(t.line, 'pid', t.negPid, config.collection);
      else {
        await this.triples.add(q, pos, neg, t.posScore, t.negScore);
        this.tick('triples', this.triples.rows);
        if (this.triples.rows === config.max_triples) break;
      }
    }
    return this.manifest(inputs, true);
  }

  async fromTexts(inputs: CacheInputs, format: 'text' | 'text-scores'): Promise<Manifest> {
    const { config } = this;
    const seenQ = new Map<string, number>();
    const seenP = new Map<string, number>();
    // Dedupe by a 120-bit digest rather than the text itself, so memory does not grow with the text size.
    const row = async (seen: Map<string, number>, part: TokenPart, text: string): Promise<number> => {
      const key = createHash('sha1').update(text).digest('base64url').slice(0, 20);
      let r = seen.get(key);
      if (r === undefined) {
        r = await part.add(key, text);
        seen.set(key, r);
      }
      return r;
    };
    const opts = { badLines: this.bad.triples, repairMojibake: config.repair_mojibake };
    for await (const t of readTriples(config.triples, format, opts)) {
      const q = await row(seenQ, this.queries, t.query);
      const pos = await row(seenP, this.passages, t.pos);
      const neg = await row(seenP, this.passages, t.neg);
      await this.triples.add(q, pos, neg, t.posScore ?? 0, t.negScore ?? 0);
      this.tick('triples', this.triples.rows);
      if (this.triples.rows === config.max_triples) break;
    }
    return this.manifest(inputs, format === 'text-scores');
  }

  private async manifest(inputs: CacheInputs, hasTeacher: boolean): Promise<Manifest> {
    const skipped = Object.fromEntries(Object.entries(this.bad).map(([k, b]) => [k, b.toJSON()]));
    if (this.triples.rows === 0) throw new InputError(this.config.triples, undefined, 'at least one usable triple', 'none');
    return {
      inputs,
      vocab_size: this.tok.vocabSize,
      token_width: tokenWidth(this.tok.vocabSize),
      has_teacher: hasTeacher,
      queries: await this.queries.finish(),
      passages: await this.passages.finish(),
      triples: await this.triples.finish(),
      skipped,
      created: new Date().toISOString(),
      seconds: 0,
    };
  }
}
