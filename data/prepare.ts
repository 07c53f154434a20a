import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeDirAtomic, writeJsonAtomic } from '../common/atomic.js';
import { BadLines, InputError, OutputError } from '../common/errors.js';
import { resolveVocab, type DataConfig, type GroupsConfig } from './config.js';
import { readGroupLines, readTeacherRun, sampleGroups, type QueryCandidates } from './groups.js';
import { IdIndex } from './id-index.js';
import { CACHE_FORMAT, MANIFEST, reusable, sourceFile, type CacheInputs, type GroupSource, type SourceFile, type Manifest, type TablePart } from './manifest.js';
import { readQrels } from './qrels.js';
import { writeGroupShard, writeTokenShard, type ShardInfo } from './shards.js';
import { TokenTableBuilder, tokenWidth } from './token-table.js';
import { alive, describeWait, lockCache, type LockOwner } from './prepare-lock.js';
import { loadTokenizer, withSpecials, type Tokenizer } from './tokenizer.js';
import { readTriples } from './triples.js';
import { readIdText } from './tsv.js';

export interface PrepareProgress {
  part: 'passages' | 'queries' | 'triples' | 'groups';
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
 * Files → tokenized Arrow cache in `cache_dir`. Training examples are stored as groups (`groups-*`: a query
 * row, G = 1 + K passage rows and their teacher scores); a triple is a group of 2.
 * - id triples: the collection and the queries are tokenized once each (`passages-*`, `queries-*`),
 *   then the triple file is joined on ids into groups (query row, positive row, negative row, scores);
 * - text triples: each distinct text is tokenized once (deduplicated by its SHA-1) into the same tables;
 * - groups (`data.groups`: a teacher run + qrels, or JSON lines): the tables as for id triples, then each
 *   query's scored candidates are sampled into groups of one positive and K negatives (data/groups.ts).
 * A passage is thus tokenized once however many examples use it. The whole cache is built in a temp
 * folder and renamed into place (a crash leaves no complete-looking cache); the same inputs (sizes,
 * mtimes, vocab hash, settings) make a second run return at once.
 * Processes that prepare the same cache at once (jobs of a cluster sweep) take turns through a lock file
 * beside it (prepare-lock.ts): the first builds, the others wait and then find the cache up to date.
 */
export async function prepare(config: DataConfig, opts: PrepareOptions = {}): Promise<PrepareResult> {
  const cacheDir = path.resolve(config.cache_dir);
  const vocabFile = resolveVocab(config.vocab);
  const tok = await loadTokenizer(vocabFile);
  const g = config.groups;
  const byIds = g !== null || config.triples_format === 'ids-scores';
  const inputs: CacheInputs = {
    format: CACHE_FORMAT,
    triples: g ? null : await sourceFile(config.triples),
    triples_format: g ? null : config.triples_format,
    groups: g ? await groupSource(g) : null,
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
  await refuseForeignFolder(cacheDir);

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

/** What a group source's cache depends on: its files and sampling settings. */
async function groupSource(g: GroupsConfig): Promise<GroupSource> {
  const files: Record<string, SourceFile> = g.source === 'teacher-run' ? { run: await sourceFile(g.run), qrels: await sourceFile(g.qrels) } : { file: await sourceFile(g.file) };
  return { source: g.source, files, negatives: g.negatives, per_query: g.per_query, seed: g.seed };
}

/**
 * A rebuild replaces the whole cache folder, so `cache_dir` must be a cache (it has a manifest), an empty
 * folder or nothing yet: a folder of the user's files there would be deleted with the old cache.
 */
async function refuseForeignFolder(cacheDir: string): Promise<void> {
  const st = await fsp.stat(cacheDir).catch(() => null);
  if (st === null) return;
  if (!st.isDirectory()) throw new OutputError(`${cacheDir}: data.cache_dir is a file, not a cache folder; refusing to replace it`);
  const entries = await fsp.readdir(cacheDir);
  if (entries.length > 0 && !entries.includes(MANIFEST)) {
    throw new OutputError(`${cacheDir}: data.cache_dir is a folder that is not a data cache (no ${MANIFEST}); refusing to replace its files (name a new or empty folder)`);
  }
}

async function build(cacheDir: string, config: DataConfig, inputs: CacheInputs, tok: Tokenizer, onProgress?: (p: PrepareProgress) => void): Promise<PrepareResult> {
  const format = config.triples_format;
  await removeStaleTemps(cacheDir);
  const started = Date.now();
  let manifest: Manifest | undefined;
  await writeDirAtomic(cacheDir, async (dir) => {
    const b = new Build(dir, config, tok, onProgress);
    if (config.groups) manifest = await b.fromGroups(inputs, config.groups);
    else manifest = format === 'ids-scores' ? await b.fromIds(inputs) : await b.fromTexts(inputs, format);
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

/** Group rows (indices into the token tables + teacher scores) being written shard by shard. */
class GroupPart {
  private q: number[] = [];
  private p: number[] = [];
  private score: number[] = [];
  private readonly shards: ShardInfo[] = [];
  rows = 0;

  constructor(
    private readonly dir: string,
    private readonly shardRows: number,
    readonly size: number,
  ) {}

  /** One group: a query row, `size` passage rows (positive first) and their teacher scores. */
  async add(q: number, passages: readonly number[], scores: readonly number[]): Promise<void> {
    this.q.push(q);
    this.p.push(...passages);
    this.score.push(...scores);
    this.rows++;
    if (this.q.length >= this.shardRows) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.q.length === 0) return;
    const name = `groups-${String(this.shards.length).padStart(5, '0')}.arrow`;
    const rows = { rows: this.q.length, group: this.size, q: Int32Array.from(this.q), p: Int32Array.from(this.p), score: Float32Array.from(this.score) };
    this.shards.push(await writeGroupShard(this.dir, name, rows));
    this.q = [];
    this.p = [];
    this.score = [];
  }

  async finish(): Promise<{ rows: number; size: number; shards: ShardInfo[] }> {
    await this.flush();
    return { rows: this.rows, size: this.size, shards: this.shards };
  }
}

const PROGRESS_EVERY = 10_000;

class Build {
  private readonly queries: TokenPart;
  private readonly passages: TokenPart;
  private readonly groups: GroupPart;
  /** Bad lines per input (by the configured policy) and counted skips, as the manifest lists them. */
  private readonly bad: Record<string, BadLines>;

  constructor(
    dir: string,
    private readonly config: DataConfig,
    private readonly tok: Tokenizer,
    private readonly onProgress?: (p: PrepareProgress) => void,
  ) {
    this.queries = new TokenPart(dir, 'queries', tok, config.query_max_length, config.shard_rows);
    this.passages = new TokenPart(dir, 'passages', tok, config.passage_max_length, config.shard_rows);
    this.groups = new GroupPart(dir, config.shard_rows, config.groups ? 1 + config.groups.negatives : 2);
    const policy = config.on_bad_line;
    this.bad = { collection: new BadLines(policy), queries: new BadLines(policy), [config.groups ? 'groups' : 'triples']: new BadLines(policy) };
  }

  private tick(part: PrepareProgress['part'], rows: number): void {
    if (rows % PROGRESS_EVERY === 0) this.onProgress?.({ part, rows });
  }

  /** The last partial step of progress, so the display ends at the part's true count. */
  private lastTick(part: PrepareProgress['part'], rows: number): void {
    if (rows % PROGRESS_EVERY !== 0) this.onProgress?.({ part, rows });
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
    this.lastTick(name, part.rows);
    return index;
  }

  /** Adds one example; false once `max_triples` examples are stored. */
  private async add(q: number, passages: readonly number[], scores: readonly number[], part: 'triples' | 'groups'): Promise<boolean> {
    await this.groups.add(q, passages, scores);
    this.tick(part, this.groups.rows);
    return this.groups.rows !== this.config.max_triples;
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
      else if (!(await this.add(q, [pos, neg], [t.posScore, t.negScore], 'triples'))) break;
    }
    return this.manifest(inputs, true, file);
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
      if (!(await this.add(q, [pos, neg], [t.posScore ?? 0, t.negScore ?? 0], 'triples'))) break;
    }
    return this.manifest(inputs, format === 'text-scores', config.triples);
  }

  /**
   * Groups from a teacher run + qrels or a JSON lines file: each query's candidates with an id missing from
   * the queries or the collection are a bad line (the JSON line; the run's line of that pid), the rest are
   * sampled into groups (data/groups.ts).
   */
  async fromGroups(inputs: CacheInputs, g: GroupsConfig): Promise<Manifest> {
    const { config } = this;
    const pids = await this.table(config.collection, this.passages, this.bad.collection, 'passages');
    const qids = await this.table(config.queries, this.queries, this.bad.queries, 'queries');
    const bad = this.bad.groups;
    let file: string;
    let candidates: AsyncGenerator<QueryCandidates>;
    if (g.source === 'teacher-run') {
      file = g.run;
      this.bad.positives_not_in_run = new BadLines('skip');
      this.bad.queries_without_qrels = new BadLines('skip');
      const skipped = { positivesNotInRun: this.bad.positives_not_in_run, queriesWithoutQrels: this.bad.queries_without_qrels };
      candidates = readTeacherRun(file, await readQrels(g.qrels), bad, skipped);
    } else {
      file = g.file;
      candidates = readGroupLines(file, bad);
    }
    const unknownPid = (line: number, pid: string) => new InputError(file, line, `a pid present in ${config.collection}`, `pid ${pid}`);
    for await (const c of candidates) {
      const q = qids.get(c.qid);
      if (q < 0) {
        bad.report(new InputError(file, c.line, `a qid present in ${config.queries}`, `qid ${c.qid}`));
        continue;
      }
      const known = (d: { pid: string }) => pids.get(d.pid) >= 0;
      const missing = [...c.positives, ...c.negatives].filter((d) => !known(d));
      if (missing.length > 0) {
        if (g.source === 'jsonl') {
          bad.report(unknownPid(c.line, missing[0].pid)); // the line is one example: skip it whole
          continue;
        }
        for (const d of missing) bad.report(unknownPid(d.line, d.pid)); // a run line each: skip those lines
      }
      const usable = { ...c, positives: c.positives.filter(known), negatives: c.negatives.filter(known) };
      for (const s of sampleGroups(usable, g.negatives, g.per_query, g.seed, file, bad)) {
        const docs = [s.positive, ...s.negatives];
        if (!(await this.add(q, docs.map((d) => pids.get(d.pid)), docs.map((d) => d.score), 'groups'))) return this.manifest(inputs, true, file);
      }
    }
    return this.manifest(inputs, true, file);
  }

  private async manifest(inputs: CacheInputs, hasTeacher: boolean, source: string): Promise<Manifest> {
    this.lastTick(this.config.groups ? 'groups' : 'triples', this.groups.rows);
    const skipped = Object.fromEntries(Object.entries(this.bad).map(([k, b]) => [k, b.toJSON()]));
    if (this.groups.rows === 0) throw new InputError(source, undefined, `at least one usable ${this.config.groups ? 'group' : 'triple'}`, 'none');
    return {
      inputs,
      vocab_size: this.tok.vocabSize,
      token_width: tokenWidth(this.tok.vocabSize),
      has_teacher: hasTeacher,
      queries: await this.queries.finish(),
      passages: await this.passages.finish(),
      groups: await this.groups.finish(),
      skipped,
      created: new Date().toISOString(),
      seconds: 0,
    };
  }
}
