import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';
import { tempFiles } from '../common/testing.js';
import { DataConfig } from './config.js';
import { prepare } from './prepare.js';
import { describeWait, lockPath, type LockOwner } from './prepare-lock.js';
import { readTokenShard } from './shards.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';
import { COLLECTION, TRIPLES, allBatches, fixture as fixtureIn, tokenRow as row } from './testing.js';

const TEXT_TRIPLES = sharedPath('data', 'msmarco-sample', 'triples.train.sample.tsv');
const write = tempFiles('prepare-');
const root = write.dir;
const fixture = (name: string, triples?: string) => fixtureIn(write, name, triples);
let tok: Tokenizer;

beforeAll(async () => {
  tok = await loadTokenizer(sharedPath('data', 'vocab', 'bert-base-uncased-vocab.txt'));
});

describe('prepare (id triples)', () => {
  it('tokenizes each passage once and joins the triples', async () => {
    const cfg = fixture('ids');
    const { manifest, reused } = await prepare(cfg);
    expect(reused).toBe(false);
    expect(manifest.passages.rows).toBe(89);
    expect(manifest.queries.rows).toBe(20);
    expect(manifest.groups.rows).toBe(150);
    expect(manifest.groups.shards.map((s) => s.rows)).toEqual([32, 32, 32, 32, 22]);
    expect(manifest.has_teacher).toBe(true);
    expect(manifest.token_width).toBe(16);
    expect(manifest.passages.truncated).toBeGreaterThan(0);
    expect(manifest.skipped.triples.count).toBe(0);
  });

  it('is idempotent: same inputs → nothing written; a changed input → rebuilt', async () => {
    const cfg = fixture('idem');
    const first = await prepare(cfg);
    const mtimes = readdirSync(cfg.cache_dir).map((f) => statSync(path.join(cfg.cache_dir, f)).mtimeMs);
    const again = await prepare(cfg);
    expect(again.reused).toBe(true);
    expect(again.manifest).toEqual(first.manifest);
    expect(readdirSync(cfg.cache_dir).map((f) => statSync(path.join(cfg.cache_dir, f)).mtimeMs)).toEqual(mtimes);
    writeFileSync(cfg.triples, TRIPLES.split('\n').slice(0, 40).join('\n') + '\n');
    const rebuilt = await prepare(cfg);
    expect(rebuilt.reused).toBe(false);
    expect(rebuilt.manifest.groups.rows).toBe(40);
  });

  it('a shard changed in place (same size) is refused when read, and rebuilt by the next prepare', async () => {
    const cfg = fixture('same-size');
    const first = await prepare(cfg);
    const info = first.manifest.passages.shards[0];
    const file = path.join(cfg.cache_dir, info.file);
    const original = readFileSync(file);
    const bytes = Buffer.from(original);
    bytes[bytes.length >> 1] ^= 0x01; // one bit: same size, so the size check alone let it through
    writeFileSync(file, bytes);
    await expect(readTokenShard(cfg.cache_dir, info)).rejects.toThrow(`${file}: expected the content manifest.json lists (sha256 ${info.sha256}): run \`margin-mse data prepare\` again`);
    const again = await prepare(cfg);
    expect(again.reused).toBe(false);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(again.manifest.passages.shards[0].sha256).toBe(info.sha256);
  });

  it('a shard a reusing prepare verified is still refused when changed before it is read in the same process', async () => {
    const cfg = fixture('verified-then-changed');
    await prepare(cfg);
    const reused = await prepare(cfg); // hashes every shard: they are now verified in this process
    expect(reused.reused).toBe(true);
    const info = reused.manifest.passages.shards[0];
    await expect(readTokenShard(cfg.cache_dir, info)).resolves.toBeDefined();
    const file = path.join(cfg.cache_dir, info.file);
    const bytes = Buffer.from(readFileSync(file));
    bytes[bytes.length >> 1] ^= 0x01;
    writeFileSync(file, bytes);
    await expect(readTokenShard(cfg.cache_dir, info)).rejects.toThrow(`${file}: expected the content manifest.json lists (sha256 ${info.sha256})`);
  });

  it('an unknown pid is an error naming file and line, or skipped and listed', async () => {
    const bad = TRIPLES + '1\t2\t1000\t999999\t3\n';
    const cfg = fixture('unknown', bad);
    await expect(prepare(cfg)).rejects.toThrow(`${cfg.triples}:151: expected a pid present in ${COLLECTION}, got pid 999999`);
    // the failed run left nothing that looks like a cache
    expect(readdirSync(root).filter((f) => f.includes('unknown') && !f.endsWith('.tsv'))).toEqual([]);
    const { manifest } = await prepare({ ...cfg, on_bad_line: 'skip' });
    expect(manifest.groups.rows).toBe(150);
    expect(manifest.skipped.triples).toMatchObject({ count: 1, byReason: { [`a pid present in ${COLLECTION}`]: 1 } });
  });

  it('a failed rebuild keeps the previous cache', async () => {
    const cfg = fixture('keep');
    const { manifest } = await prepare(cfg);
    writeFileSync(cfg.triples, TRIPLES + 'x\t2\t1000\t1\t2\n');
    await expect(prepare(cfg)).rejects.toThrow(/:151: expected pos_score as a finite number, got "x"/);
    expect(JSON.parse(readFileSync(path.join(cfg.cache_dir, 'manifest.json'), 'utf8'))).toEqual(manifest);
  });

  it('removes the temp folder a killed prepare left, but not one of a live process', async () => {
    const cfg = fixture('stale');
    const dead = path.join(root, '.stale.tmp-999999999-1');
    const live = path.join(root, `.stale.tmp-${process.ppid}-1`);
    mkdirSync(dead);
    mkdirSync(live);
    await prepare(cfg);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

});

describe('prepare (text triples)', () => {
  it('tokenizes the 100 sample triples, each distinct text once, without teacher', async () => {
    const cfg = DataConfig.parse({ triples: TEXT_TRIPLES, triples_format: 'text', cache_dir: path.join(root, 'text') });
    const { manifest } = await prepare(cfg);
    const lines = readFileSync(TEXT_TRIPLES, 'utf8').trimEnd().split('\n').map((l) => l.split('\t'));
    expect(manifest.groups.rows).toBe(100);
    expect(manifest.has_teacher).toBe(false);
    expect(manifest.queries.rows).toBe(new Set(lines.map((l) => l[0])).size);
    expect(manifest.passages.rows).toBe(new Set(lines.flatMap((l) => [l[1], l[2]])).size);
    const [b] = await allBatches(cfg.cache_dir, { batchSize: 100, seed: 3, shuffleBuffer: 1, prefetch: 1 });
    expect(b.hasTeacher).toBe(false);
    expect(Array.from(b.teacher)).toEqual(new Array(200).fill(0));
    expect(row(b.passages, 2 * 99 + 1)).toEqual(Array.from(tok.encode(lines[99][2], 200)));
  });
});

/**
 * A child process that prepares `cfg` once the file `go` exists (so two of them start together), and prints
 * whether it built the cache and whether it waited for the lock.
 */
const WORKER = `
import { existsSync } from 'node:fs';
const [, , url, cfg, go] = process.argv;
const { prepare } = await import(url);
while (!existsSync(go)) await new Promise((r) => setTimeout(r, 5));
let waited = false;
const r = await prepare(JSON.parse(cfg), { onWait: () => (waited = true) });
console.log(JSON.stringify({ reused: r.reused, waited, triples: r.manifest.groups.rows }));
`;

function worker(cfg: DataConfig, go: string): Promise<{ reused: boolean; waited: boolean; triples: number }> {
  const script = path.join(root, 'worker.mjs');
  writeFileSync(script, WORKER);
  const url = pathToFileURL(path.join(ROOT, 'data', 'prepare.ts')).href;
  const child = spawn(process.execPath, ['--import', 'tsx', script, url, JSON.stringify(cfg), go], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker exit ${code}: ${err}`)))),
  );
}

/** The cache's siblings that a finished prepare must not leave behind (its lock, temp folders). */
const leftovers = (cacheDir: string) => readdirSync(path.dirname(cacheDir)).filter((n) => n.startsWith(`.${path.basename(cacheDir)}.`));

describe('prepare from several processes at once', () => {
  it('two processes preparing the same cache together build it once; the other finds it done', { timeout: 60_000 }, async () => {
    const cfg = fixture('together');
    const go = path.join(root, 'together-go');
    const both = Promise.all([worker(cfg, go), worker(cfg, go)]);
    await new Promise((r) => setTimeout(r, 300)); // let both load before they race (a speed-up, not a condition)
    writeFileSync(go, '');
    const results = await both;
    expect(results.map((r) => r.reused).sort()).toEqual([false, true]);
    // The one that found the cache done either waited for the builder's lock or came after it had finished.
    const reuser = results.find((r) => r.reused)!;
    expect(reuser.triples).toBe(150);
    expect(leftovers(cfg.cache_dir)).toEqual([]);
    const batches = await allBatches(cfg.cache_dir, { batchSize: 50, seed: 1, shuffleBuffer: 1, prefetch: 1, epochs: 1 });
    expect(batches.reduce((s, b) => s + b.size, 0)).toBe(150);
    expect((await prepare(cfg)).reused).toBe(true);
  });

  it('waits while a live process holds the lock, then builds; the wait line names the holder', async () => {
    const cfg = fixture('held');
    const lock = lockPath(path.resolve(cfg.cache_dir));
    const holder: LockOwner = { pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' };
    writeFileSync(lock, JSON.stringify(holder));
    const seen: (LockOwner | null)[] = [];
    let released = false;
    const r = await prepare(cfg, {
      onWait: (owner) => {
        seen.push(owner);
        // The holder finishes (without building) only once the waiter has said it waits.
        if (!released) void rm(lock).then(() => (released = true));
      },
    });
    expect(released).toBe(true);
    expect(seen[0]).toEqual(holder);
    expect(r.reused).toBe(false);
    expect(r.manifest.groups.rows).toBe(150);
    expect(leftovers(cfg.cache_dir)).toEqual([]);
    expect(describeWait(holder, lock)).toBe(`prepare: waiting for ${lock} (pid ${process.pid} on ${hostname()}, since 2026-01-01T00:00:00.000Z) to finish building the same cache\n`);
    expect(describeWait({ ...holder, host: 'other-node' }, lock)).toContain(`if that job is gone, remove ${lock}`);
  });

  it('takes over a lock left by a dead process on this host', async () => {
    const cfg = fixture('deadlock');
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.on('exit', r));
    const lock = lockPath(path.resolve(cfg.cache_dir));
    writeFileSync(lock, JSON.stringify({ pid: dead.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
    const waits: unknown[] = [];
    const r = await prepare(cfg, { onWait: (o) => waits.push(o) });
    expect(waits).toEqual([]);
    expect(r.reused).toBe(false);
    expect(existsSync(lock)).toBe(false);
    expect(leftovers(cfg.cache_dir)).toEqual([]);
  });
});
