/**
 * A child process for the kill-and-resume test (train/resume.test.ts): trains the tiny stand-in student on
 * generated groups of 1 + 3 passages with Margin-MSE + in-batch negatives over 2 micro-batches (GradCache)
 * into RUN_DIR, optionally resuming from its latest checkpoint, sleeping SLOW_MS after
 * each step so the parent can kill it mid-run; SIGTERM stops it after the current step with a checkpoint.
 * Usage: tsx train/testing-run.ts RUN_DIR [--resume]
 */
import { initBackend } from '../models/engine/backend.js';
import { latestCheckpoint, loadCheckpoint } from './checkpoint.js';
import { TrainConfig } from './config.js';
import { runLoop } from './loop.js';
import { TinyStudent, generatedSource } from './testing.js';

const RESUME_CONFIG = TrainConfig.parse({
  lr: 0.01, max_steps: 30, checkpoint_every: 3, keep_checkpoints: 2, log_every: 5, accumulation_steps: 2, validation: { every: 0 },
  loss: [{ name: 'margin-mse' }, { name: 'in-batch', weight: 0.5 }],
});
const RESUME_DATA = { seed: 3, size: 8, batches: 100, negatives: 3 };

export async function resumeRun(runDir: string, resume: boolean, slowMs = 0, stop?: AbortSignal): Promise<void> {
  await initBackend('cpu', { quiet: true });
  const student = new TinyStudent(7);
  const dir = resume ? await latestCheckpoint(runDir, (m) => process.stderr.write(`${m}\n`)) : null;
  const ckpt = dir ? await loadCheckpoint(dir) : undefined;
  const source = generatedSource(RESUME_DATA, ckpt?.state.cursor);
  await runLoop({
    student, source, config: RESUME_CONFIG, runDir, seed: 1, resume: ckpt, showProgress: false, stop,
    log: (m) => /^(resumed|training interrupted)/.test(m) && process.stderr.write(`${m}\n`),
    hooks: { stepEnd: () => (slowMs ? new Promise((r) => setTimeout(r, slowMs)) : undefined) },
  });
  student.dispose();
}

if (process.argv[1]?.endsWith('testing-run.ts')) {
  // SIGTERM stops gracefully, as `margin-mse train` does (cli/train.ts).
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  await resumeRun(process.argv[2], process.argv.includes('--resume'), Number(process.env.SLOW_MS ?? 0), controller.signal);
}
