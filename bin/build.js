#!/usr/bin/env node
// Compiles the TypeScript sources to dist/ (tsc -p tsconfig.build.json), what bin/margin-mse.js runs. npm's
// `prepare` runs it at install, `npm run build` by hand, and the test setup (vitest.global-setup.ts) whenever
// a source is newer than the build, so no test runs a stale build. Plain JavaScript: it must run before any
// TypeScript is compiled.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Folders compiled into dist/ (as tsconfig.build.json's include). */
const SOURCES = ['cli', 'common', 'data', 'models', 'train', 'eval', 'teachers', 'parity', 'quickstart', 'pipelines', 'sweep'];
/** Written when a build starts and dated then: a source edited during the build stays newer than it. */
const STAMP = path.join(ROOT, 'dist', '.built');

/** The newest modification time (ms) of the compiled sources and the build's config. */
function newestSource() {
  let newest = 0;
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) newest = Math.max(newest, statSync(path.join(ROOT, f)).mtimeMs);
  for (const dir of SOURCES) {
    for (const e of readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path.join(e.parentPath, e.name)).mtimeMs);
    }
  }
  return newest;
}

/**
 * Whether dist/ holds a build of the current sources. Only a git checkout is checked (sources edited since
 * the build): an installed package was built by `prepare` and is never edited, so it costs one stat.
 */
export function buildIsCurrent() {
  if (!existsSync(STAMP)) return false;
  if (!existsSync(path.join(ROOT, '.git'))) return true;
  return newestSource() <= statSync(STAMP).mtimeMs;
}

/** Runs tsc; returns its exit status (0, or 2 when there were type errors: the JavaScript is emitted anyway). */
export function build() {
  const started = new Date();
  mkdirSync(path.dirname(STAMP), { recursive: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0 && r.status !== 2) return r.status ?? 1;
  closeSync(openSync(STAMP, 'w'));
  utimesSync(STAMP, started, started);
  return r.status;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exit(build());
