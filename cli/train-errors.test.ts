import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { generate, type DatasetFiles } from '../quickstart/generate.js';
import { expectExit0, expectOk, expectOneLineError, linesOf, runCli, scratch, type CliResult } from './testing.js';

/**
 * `margin-mse train ...` as a user runs it (issue 16). One tiny run is trained through the CLI (2 steps, cpu,
 * validation at step 2 so there is a best/); the cases copy it when they change it.
 */
vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 }); // cases wait for a CLI slot (cli/testing.ts)
const s = scratch('train-errors-');
let f: DatasetFiles;
let run: string;

const sets = (outDir: string, name: string, more: Record<string, string | number> = {}): string[] =>
  Object.entries({
    'data.collection': f.collection, 'data.queries': f.queriesTrain, 'data.triples': f.trainScores, 'data.triples_format': 'ids-scores',
    'data.cache_dir': s.at('cache'), 'data.query_max_length': 12, 'data.passage_max_length': 32,
    'train.validation.queries': f.queriesVal, 'train.validation.qrels': f.qrelsVal, 'train.validation.candidates': f.bm25Val,
    'train.validation.collection': f.collection, 'train.validation.every': 2, 'train.batch_size': 4, 'train.max_steps': 2,
    'train.log_every': 1, 'train.checkpoint_every': 2, 'train.warmup_steps': 1,
    'run.out_dir': outDir, 'run.name': name, 'run.backend': 'cpu', ...more,
  }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
const summaryOf = (r: CliResult) => JSON.parse(r.stdout) as { status: string; steps: number };
const train = (outDir: string, name: string, more: Record<string, string | number> = {}, extra: string[] = []) =>
  runCli(['train', '--config', 'configs/tiny.yaml', ...sets(outDir, name, more), ...extra], { timeoutMs: 300_000 });

/**
 * `train --resume` as a user types it: the run folder, nothing else (the run's config.yaml has the rest; a --set
 * given on resume is an override, applied or refused, so the cases above that repeat every --set of the
 * trained run do so with its values).
 */
const resume = (outDir: string, name: string) =>
  runCli(['train', '--resume', '--set', `run.out_dir=${outDir}`, '--set', `run.name=${name}`], { timeoutMs: 300_000 });

/** A copy of a run folder (default: the trained run) as `<dir>/<name>`, its config.yaml pointing at the copy. */
function copyRun(dir: string, name: string, edit: (yaml: string) => string = (y) => y, from = run): string {
  const to = path.join(dir, name);
  cpSync(from, to, { recursive: true });
  const yaml = readFileSync(path.join(to, 'config.yaml'), 'utf8').replace(/^( {2}name:) .*$/m, `$1 ${name}`).replace(/^( {2}out_dir:) .*$/m, `$1 ${dir}`);
  writeFileSync(path.join(to, 'config.yaml'), edit(yaml));
  return to;
}

/**
 * A run of max_steps 8 stopped by SIGTERM after its first step (train saves a checkpoint of that step and exits
 * 130): what `--resume` continues. Made once, on first use.
 */
let interrupted: Promise<string> | undefined;
function interruptedRun(): Promise<string> {
  interrupted ??= (async () => {
    const dir = s.at('runs-interrupted');
    const r = await runCli(['train', '--config', 'configs/tiny.yaml', ...sets(dir, 'i', { 'train.max_steps': 8, 'train.checkpoint_every': 8, 'train.validation.every': 0 })], {
      timeoutMs: 300_000,
      onSpawn: (child) => {
        let sent = false;
        child.stderr!.on('data', (d: Buffer) => {
          if (!sent && /train: /.test(String(d))) {
            sent = true;
            child.kill('SIGTERM');
          }
        });
      },
    });
    expect(r.code, `setup: the run should stop early with exit 130; stderr:\n${r.stderr.slice(-2000)}`).toBe(130);
    expect(summaryOf(r).steps).toBeLessThan(8);
    return path.join(dir, 'i');
  })();
  return interrupted;
}


beforeAll(async () => {
  f = await generate(s.at('data'), { topics: 20, passagesPerTopic: 2, extraPassages: 10, trainQueries: 30, devQueries: 5, valQueries: 5, bm25Depth: 10, triplesPerQuery: 2 });
  const r = await train(s.at('runs'), 't');
  expectExit0(r);
  run = path.join(s.at('runs'), 't');
  expect(readdirSync(run)).toEqual(expect.arrayContaining(['best', 'step-00000002', 'summary.json']));
});

describe.concurrent('train export', () => {
  it('exports a finished run as a HF folder (was: exit 7, 39 KB of minified emscripten source, "backend wasm not initialized")', async () => {
    const out = s.at('export');
    const r = await runCli(['train', 'export', '--run', run, '--out', out]);
    expectExit0(r);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'vocab.txt']));
    expectOk(r);
  });
});

describe.concurrent('train plan, train losses', () => {
  it('train plan --memory abc is refused naming the flag', async () => {
    expectOneLineError(await runCli(['train', 'plan', '--config', 'configs/tiny.yaml', '--memory', 'abc']), '--memory');
  });

  it('train losses --backend gpu is one line naming the flag and its choices', async () => {
    expectOneLineError(await runCli(['train', 'losses', '--check', sharedPath('goldens/losses/golden.json'), '--backend', 'gpu']), '--backend', 'wasm');
  });

  it('train losses --check of a missing file is one line naming it', async () => {
    expectOneLineError(await runCli(['train', 'losses', '--check', s.at('nope.json')]), s.at('nope.json'));
  });
});

describe.concurrent('train: the run folder', () => {
  it("best/ works in eval without --vocab, as documented (was: ENOENT best/vocab.txt)", async () => {
    const out = s.at('best-rerank.trec');
    const r = await runCli(['eval', 'rerank', '--model', path.join(run, 'best'), '--backend', 'cpu', '--set', 'data.query_max_length=12', '--set', 'data.passage_max_length=32',
      '--collection', f.collection, '--queries', f.queriesVal, '--run', f.bm25Val, '--out', out]);
    expectExit0(r);
    expect(existsSync(out)).toBe(true);
    expectOk(r);
  });

  it('run.out_dir under /proc is one line, promptly (was: 100% CPU in recursive mkdir, forever)', async () => {
    const r = await runCli(['train', '--config', 'configs/tiny.yaml', ...sets('/proc/margin-mse-runs', 'x')], { timeoutMs: 90_000 });
    expectOneLineError(r, '/proc/margin-mse-runs');
  });

  it('a failed start (missing triples) is one line before any backend probe, and leaves no run folder behind', async () => {
    const dir = s.at('runs-failed-start');
    const r = await runCli(['train', '--config', 'configs/tiny.yaml', ...sets(dir, 'x', { 'data.triples': s.at('nope.tsv'), 'run.backend': 'auto' })]);
    expectOneLineError(r, s.at('nope.tsv'));
    expect(existsSync(path.join(dir, 'x'))).toBe(false);
  });

  it('missing validation qrels are one line naming the file (was: Node crash dump)', async () => {
    const r = await train(s.at('runs-noqrels'), 'x', { 'train.validation.qrels': s.at('nope.qrels') });
    expectOneLineError(r, s.at('nope.qrels'));
  });

  it('SIGTERM during setup ends the process (was: "stopping after this step", then ignored while no step runs)', async () => {
    const fifo = s.at('validation-collection.fifo');
    execFileSync('mkfifo', [fifo]); // nobody writes: loading the validation set blocks here, in setup
    let signalled = 0;
    let stuck = false;
    const r = await runCli(['train', '--config', 'configs/tiny.yaml', ...sets(s.at('runs-sigterm'), 'x', { 'train.validation.collection': fifo })], {
      timeoutMs: 180_000,
      onSpawn: (child) => {
        const send = () => {
          if (signalled || child.exitCode !== null) return;
          signalled = Date.now();
          child.kill('SIGTERM');
          setTimeout(() => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            stuck = true;
            child.kill('SIGKILL');
          }, 20_000);
        };
        // After the engine line the signal handlers are installed (cli/main.ts, train's stopOnSignals); a start
        // that says nothing for 90 s gets the signal anyway.
        child.stderr!.on('data', (d: Buffer) => /engine: using/.test(String(d)) && setTimeout(send, 3000));
        setTimeout(send, 90_000);
      },
    });
    expect(stuck, `still running 20 s after SIGTERM; stderr:\n${r.stderr}`).toBe(false);
    expect(r.timedOut, `never ended; stderr:\n${r.stderr}`).toBe(false);
    expect(r.code).not.toBe(0);
    if (!signalled) expectOneLineError(r, fifo); // refused the FIFO up front: fine too
    expect(r.stderr).not.toMatch(/^\s+at\s/m);
  });

  it('a second train on a run folder in use is refused, naming the folder (was: both ran, metrics interleaved, config of one and checkpoints of the other)', async () => {
    const dir = s.at('runs-two');
    // The first run is long (1000 steps): it is stopped with SIGTERM once the second has answered.
    const long = { 'train.max_steps': 1000, 'train.max_epochs': 1000, 'train.checkpoint_every': 1000, 'train.validation.every': 0 };
    let secondTrained = false;
    let second: Promise<CliResult> | undefined;
    const startSecond = () =>
      runCli(['train', '--config', 'configs/tiny.yaml', ...sets(dir, 'x', { ...long, 'run.seed': 2 })], {
        timeoutMs: 300_000,
        onSpawn: (child) =>
          child.stderr!.on('data', (d: Buffer) => {
            if (!secondTrained && /train: /.test(String(d))) {
              secondTrained = true; // training in the folder the first run is using: the bug; stop it
              child.kill('SIGKILL');
            }
          }),
      });
    const first = runCli(['train', '--config', 'configs/tiny.yaml', ...sets(dir, 'x', { ...long, 'run.seed': 1 })], {
      timeoutMs: 600_000,
      onSpawn: (child) =>
        child.stderr!.on('data', (d: Buffer) => {
          if (!second && /train: /.test(String(d))) {
            second = startSecond();
            void second.finally(() => child.kill('SIGTERM'));
          }
        }),
    });
    const a = await first;
    expect(second, `the first run never trained; stderr:\n${a.stderr.slice(-2000)}`).toBeDefined();
    const b = await second!;
    expect(secondTrained, 'the second run trained in the folder the first was using').toBe(false);
    expectOneLineError(b, path.join(dir, 'x'));
    expect(a.code, a.stderr.slice(-2000)).toBe(130); // stopped by the SIGTERM above, with a checkpoint
    const steps = readFileSync(path.join(dir, 'x', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
    expect(steps).toEqual(steps.map((_, i) => i + 1));
    expect(readFileSync(path.join(dir, 'x', 'config.yaml'), 'utf8')).toMatch(/seed: 1$/m);
  });
});

// Each case trains: one at a time.
describe('train --resume', () => {
  it('--set model.dim that differs from the checkpoint is refused, naming the key and both files (was: silently ignored)', async () => {
    const dir = s.at('resume-dim');
    copyRun(dir, 'x');
    const r = await train(dir, 'x', {}, ['--resume', '--set', 'model.dim=64']);
    expectOneLineError(r, 'model.dim', 'config.yaml', 'config.json');
  });

  it('--set train.max_steps on resume applies, or is refused naming the key (was: silently ignored, exit 0 at step 2)', async () => {
    const dir = s.at('resume-steps');
    copyRun(dir, 'x');
    rmSync(path.join(dir, 'x', 'summary.json'));
    const r = await train(dir, 'x', {}, ['--resume', '--set', 'train.max_steps=4']);
    if (r.code === 0) {
      expect(summaryOf(r).steps).toBe(4);
      expectOk(r);
    } else expectOneLineError(r, 'max_steps');
  });

  it('a copied run folder resumes in the copy, leaving the original alone (was: resumed into the folder named in config.yaml)', async () => {
    const dir = s.at('resume-copy');
    const original = copyRun(dir, 'orig', undefined, await interruptedRun());
    const copy = path.join(dir, 'copy');
    cpSync(original, copy, { recursive: true }); // its config.yaml still names 'orig'
    const before = readdirSync(original).sort();
    const r = await resume(dir, 'copy');
    expectExit0(r);
    expect(readdirSync(original).sort()).toEqual(before);
    expect(readdirSync(copy)).toEqual(expect.arrayContaining(['step-00000008', 'summary.json']));
    expectOk(r);
  });

  it('progress after a resume shows a believable rate (was: 2000000000.0 step/s)', async () => {
    const dir = s.at('resume-rate');
    copyRun(dir, 'x', undefined, await interruptedRun());
    const r = await resume(dir, 'x');
    expectExit0(r);
    expect(summaryOf(r).steps).toBe(8);
    const rates = linesOf(r.stderr).flatMap((l) => {
      const m = /^train: .*\| ([\d.e+]+) step\/s/.exec(l);
      return m ? [Number(m[1])] : [];
    });
    expect(rates.length).toBeGreaterThan(0);
    for (const rate of rates) expect(rate, 'a DistilBERT step on cpu').toBeLessThan(100);
    expectOk(r);
  });

  it('a finished run whose config.yaml now says max_steps 4 continues, or says it is finished (was: "training max_steps at step 2", exit 0)', async () => {
    const dir = s.at('resume-finished');
    const x = copyRun(dir, 'x', (y) => y.replace(/max_steps: 2$/m, 'max_steps: 4'));
    rmSync(path.join(x, 'summary.json'));
    const r = await resume(dir, 'x');
    if (r.code === 0) {
      expect(summaryOf(r).steps).toBe(4);
      expectOk(r);
    } else expectOneLineError(r, /finished|max_steps/);
  });

  it('a config.yaml edited to another model size is refused on resume, naming it and the checkpoint (was: silently ignored)', async () => {
    const dir = s.at('resume-edited-dim');
    copyRun(dir, 'x', (y) => y.replace(/^( {2}dim:) 32$/m, '$1 64'));
    const r = await resume(dir, 'x');
    expectOneLineError(r, 'dim', 'config.yaml', 'config.json');
  });

  it('every checkpoint corrupt is one line naming them, and they are kept (was: restarted at step 0, exit 0, overwrote them)', async () => {
    const dir = s.at('resume-corrupt');
    const x = copyRun(dir, 'x');
    rmSync(path.join(x, 'summary.json'));
    const weights = path.join(x, 'step-00000002', 'model.safetensors');
    const bytes = readFileSync(weights);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(weights, bytes);
    const r = await resume(dir, 'x');
    expectOneLineError(r, 'step-00000002');
    expect(readFileSync(weights).equals(bytes)).toBe(true);
  });
});
