import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { ROOT } from '../common/paths.js';

/**
 * Test helpers for the black-box CLI tests (`cli/*-errors.test.ts`; no test runs here): run `margin-mse` as a
 * user does, in a child process, and check that a failure is one clear line.
 */

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by `timeoutMs` (a hang). */
  timedOut: boolean;
  ms: number;
}

export interface CliOptions {
  cwd?: string;
  /** Written to stdin, which is then closed (default: stdin closed at once). */
  input?: string | Uint8Array;
  env?: Record<string, string>;
  /** SIGKILL after this long and report `timedOut` (default 120 s: a loaded 2-core machine starts a model command in ~60 s). */
  timeoutMs?: number;
  /** Run as user nobody (65534) when the tests run as root, so file permissions apply. */
  asNobody?: boolean;
  /** Called with the child once it is spawned (e.g. to signal it). */
  onSpawn?: (child: ChildProcess) => void;
}

/** The installed entry point, as `npm install -g` or `npx margin-mse` runs it. */
export const BIN = path.join(ROOT, 'bin', 'margin-mse.js');

/**
 * At most this many children at once per test file (MARGIN_MSE_TEST_CLIS, default 3): the cases of a file run
 * concurrently, and a machine of 2 cores shared with other work must not get one process per case.
 */
const LIMIT = Number(process.env.MARGIN_MSE_TEST_CLIS ?? 3);
let running = 0;
const waiting: (() => void)[] = [];
async function slot(): Promise<() => void> {
  if (running >= LIMIT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  return () => {
    running--;
    waiting.shift()?.();
  };
}

/** Runs `margin-mse ...args` and collects its output and exit. */
export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const release = await slot();
  try {
    return await spawnCli(args, opts);
  } finally {
    release();
  }
}

function spawnCli(args: string[], opts: CliOptions): Promise<CliResult> {
  const started = Date.now();
  const ids = opts.asNobody && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, MARGIN_MSE_WASM_THREADS: '1', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...ids,
  });
  opts.onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.on('error', () => {}); // a child that exits before reading stdin
  child.stdin.end(opts.input ?? '');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 120_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

/** Lines of output as a user sees them (progress bars redraw with \r). */
export const linesOf = (s: string): string[] => s.split(/\r?\n|\r/).filter((l) => l.trim() !== '');

/** Output that must never reach a user: stack frames, Node's crash dump, minified sources, native library chatter. */
export function expectNoNoise(stderr: string): void {
  const lines = linesOf(stderr);
  expect(lines.filter((l) => /^\s+at\s/.test(l)), 'stack frames').toEqual([]);
  expect(stderr, "Node's crash dump").not.toMatch(/node:internal|triggerUncaughtException|^Node\.js v\d/m);
  expect(lines.filter((l) => l.length > 1000).map((l) => `${l.slice(0, 80)}… (${l.length} chars)`), 'minified source').toEqual([]);
  expect(stderr, "Dawn's Vulkan probe").not.toMatch(/Couldn't load Vulkan|artificially reduced/);
  expect(stderr, "tfjs's Node banner").not.toMatch(/Hi, looks like you are running TensorFlow\.js in Node\.js/);
}

/**
 * A failure as the user must see it: a non-zero exit (not a crash, a signal or a hang), no noise, and exactly
 * one `margin-mse: ...` message at the end of stderr (progress lines may come before it). The message is one
 * line, or one line and its indented details (a config error lists each bad key as `  key: problem`). Each of
 * `mentions` must appear in it (the file, line, flag or key, and what was expected). Returns the message.
 */
export function expectOneLineError(r: CliResult, ...mentions: (string | RegExp)[]): string {
  const context = `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ' (timed out)' : ''}; stderr:\n${r.stderr.slice(0, 3000)}`;
  expect(r.timedOut, `hung: ${context}`).toBe(false);
  expect(r.signal, context).toBeNull();
  expect(r.code, context).not.toBe(0);
  expect(r.code, `7 is Node's "exception handler threw" (emscripten's rethrow): ${context}`).not.toBe(7);
  const lines = linesOf(r.stderr);
  const starts = lines.flatMap((l, i) => (l.startsWith('margin-mse: ') ? [i] : []));
  expect(starts, `one margin-mse: message; ${context}`).toHaveLength(1);
  const rest = lines.slice(starts[0] + 1);
  expect(rest.filter((l) => !l.startsWith('  ')), `nothing after the message but its indented details; ${context}`).toEqual([]);
  const message = [lines[starts[0]], ...rest].join('\n');
  for (const m of mentions) {
    if (typeof m === 'string') expect(message, context).toContain(m);
    else expect(message, context).toMatch(m);
  }
  expectNoNoise(r.stderr);
  return message;
}

/** Setup steps of a test file: exit 0 (noise is the cases' business, so setup does not hide them all). */
export function expectExit0(r: CliResult): void {
  expect(r.code, `exit ${r.code} ${r.signal ?? ''}${r.timedOut ? ' (timed out)' : ''}; stderr:\n${r.stderr.slice(0, 3000)}`).toBe(0);
}

/** Success: exit 0, no noise. */
export function expectOk(r: CliResult): void {
  expect(r.timedOut, `hung; stderr:\n${r.stderr.slice(0, 3000)}`).toBe(false);
  expect(r.code, `exit ${r.code} ${r.signal ?? ''}; stderr:\n${r.stderr.slice(0, 3000)}`).toBe(0);
  expectNoNoise(r.stderr);
}

/** A fresh temp folder and a writer of files in it. */
export function scratch(prefix: string): { dir: string; file: (name: string, content: string | Uint8Array) => string; at: (name: string) => string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    at: (name) => path.join(dir, name),
    file: (name, content) => {
      const p = path.join(dir, name);
      writeFileSync(p, content);
      return p;
    },
  };
}

/** Files beside `dir/name` that an atomic writer left behind (`.NAME.tmp-PID-TS`). */
export function leftoverTemps(dir: string): string[] {
  return readdirSync(dir).filter((n) => /\.tmp-\d+-\d+$/.test(n));
}
