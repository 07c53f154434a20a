import { beforeAll } from 'vitest';
import { type BackendChoice, initBackend } from './backend.js';

/**
 * Test helper (no test runs here): the backend the tests of the current file (or describe block) run on,
 * started before them and without the choice being printed. cpu by default: exact and quick for small
 * tensors; wasm for goldens with long sequences.
 */
export function testBackend(name: Exclude<BackendChoice, 'auto'> = 'cpu'): void {
  beforeAll(async () => {
    await initBackend(name, { quiet: true });
  });
}
