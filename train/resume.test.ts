import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../common/paths.js';
import { resumeRun } from './testing-run.js';

const SCRIPT = path.join(ROOT, 'train', 'testing-run.ts');

/**
 * The trainer as a child process, node itself running tsx's loader: a signal reaches the trainer directly (the
 * `tsx` binary is a relay process that forwards signals to its own child, and under load it can lose the race).
 */
function child(runDir: string, args: string[], env: Record<string, string> = {}) {
  const p = spawn(process.execPath, ['--import', 'tsx', SCRIPT, runDir, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    p.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { p, done };
}

const exists = (f: string) => fsp.stat(f).then(() => true, () => false);

/** A slowed child training into `runDir`, once checkpoint `step-<n>` of it exists (or after 30 s). */
async function startedPast(runDir: string, checkpoint: string) {
  const started = child(runDir, [], { SLOW_MS: '60' });
  for (let i = 0; i < 600 && !(await exists(path.join(runDir, checkpoint))); i++) await new Promise((r) => setTimeout(r, 50));
  return started;
}

// The child trains on groups of 1 + 3 with Margin-MSE + in-batch negatives over 2 micro-batches (GradCache): see testing-run.ts.
describe('resume', () => {
  // The uninterrupted run both tests compare against, trained in-process once.
  let ref: string;
  beforeAll(async () => {
    ref = await fsp.mkdtemp(path.join(os.tmpdir(), 'resume-ref-'));
    await resumeRun(ref, false);
  });

  /** The resumed run's last checkpoint equals the uninterrupted run's, weights and Adam state, bit for bit. */
  async function expectSameEnd(runDir: string): Promise<void> {
    for (const f of ['model.safetensors', 'optimizer.safetensors']) {
      const a = await fsp.readFile(path.join(ref, 'step-00000030', f));
      const b = await fsp.readFile(path.join(runDir, 'step-00000030', f));
      expect(b.equals(a)).toBe(true);
    }
  }

  it('a run killed (SIGKILL) mid-run and resumed ends with the same weights and Adam state, bit for bit', async () => {
    const runDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'resume-kill-'));
    // Kill once a few checkpoints exist: the child is then somewhere between steps (or inside a write).
    const first = await startedPast(runDir, 'step-00000009');
    first.p.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(await exists(path.join(runDir, 'summary.json'))).toBe(false);

    const second = child(runDir, ['--resume']);
    const resumed = await second.done;
    expect(resumed.stderr).not.toMatch(/Error/);
    expect(resumed.code).toBe(0);
    // It did continue from a checkpoint written before the kill (a restart from zero would also match bits).
    const from = /resumed from .*step-(\d+) at step (\d+)/.exec(resumed.stderr);
    expect(Number(from?.[2])).toBeGreaterThanOrEqual(9);

    await expectSameEnd(runDir);
    const summary = JSON.parse(await fsp.readFile(path.join(runDir, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ reason: 'max_steps', steps: 30, triples: 240 });
    // metrics.jsonl has each logged step once, despite the kill.
    const steps = (await fsp.readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).step);
    expect(steps).toEqual([5, 10, 15, 20, 25, 30]);
  });

  it('a run stopped with SIGTERM checkpoints the step it reached, writes no summary, and resumes bit for bit', async () => {
    const runDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'resume-term-'));
    const first = await startedPast(runDir, 'step-00000006');
    first.p.kill('SIGTERM');
    const stopped = await first.done;
    expect(stopped.code).toBe(0);
    const at = Number(/training interrupted at step (\d+): checkpoint .*step-\d+/.exec(stopped.stderr)?.[1]);
    expect(at).toBeGreaterThanOrEqual(6);
    expect(at).toBeLessThan(30);
    // The checkpoint is of the step reached, not the last periodic one (every 3 steps).
    expect(await exists(path.join(runDir, `step-${String(at).padStart(8, '0')}`, 'state.json'))).toBe(true);
    expect(await exists(path.join(runDir, 'summary.json'))).toBe(false);

    const resumed = await child(runDir, ['--resume']).done;
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resumed from .*step-0*${at} at step ${at}\\b`));
    await expectSameEnd(runDir);
    expect(JSON.parse(await fsp.readFile(path.join(runDir, 'summary.json'), 'utf8'))).toMatchObject({ status: 'finished', steps: 30 });
  });
});
