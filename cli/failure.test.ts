import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../common/errors.js';
import { describeFailure, usageMessage } from './failure.js';

describe('describeFailure', () => {
  it("a user's mistake is one line without a stack", () => {
    const r = describeFailure(new InputError('runs.trec', 3, 'a finite number as the score (column 5)', '"abc"'));
    expect(r.bug).toBe(false);
    expect(r.text.split('\n')).toHaveLength(1);
    expect(r.text).toMatch(/^margin-mse: runs\.trec:3: /);
  });

  it('a file-system error is one line naming the path and the code in words', () => {
    const e = Object.assign(new Error("ENOENT: no such file or directory, open '/x/y'"), { code: 'ENOENT', path: '/x/y', errno: -2 });
    expect(describeFailure(e)).toEqual({ text: 'margin-mse: /x/y: no such file or folder (ENOENT)', bug: false });
  });

  it('a bug says so, with at most 12 frames, each line cut at 300 characters', () => {
    const e = new TypeError('x is not a function');
    e.stack = [`TypeError: x is not a function`, ...Array.from({ length: 30 }, (_, i) => `    at f${i} (file:///a.js:${'9'.repeat(i === 0 ? 5000 : 1)})`)].join('\n');
    const r = describeFailure(e);
    const lines = r.text.split('\n');
    expect(r.bug).toBe(true);
    expect(lines[0]).toBe('margin-mse: internal error (a bug; please report it with the command): TypeError: x is not a function');
    expect(lines).toHaveLength(13);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(301);
  });

  it('a config error keeps its indented detail lines', () => {
    const r = describeFailure(new ConfigError('configs/x.yaml: invalid config:\n  unknown key \'train.lrr\''));
    expect(r.text).toBe("margin-mse: configs/x.yaml: invalid config:\n  unknown key 'train.lrr'");
  });
});

describe('usageMessage', () => {
  it("turns yargs' choices message into `--flag: expected one of …, got …`", () => {
    const msg = 'Invalid values:\n  Argument: backend, Given: "gpu", Choices: "auto", "tensorflow", "webgpu", "wasm", "cpu"';
    expect(usageMessage(msg)).toBe('--backend: expected one of auto, tensorflow, webgpu, wasm, cpu, got "gpu"');
  });

  it('puts other messages on one line', () => {
    expect(usageMessage('Missing required argument:\n  run')).toBe('Missing required argument: run');
  });
});
