import { defineConfig } from 'vitest/config';

// Tests live beside the code they test (`*.test.ts`). Two workers: CI machines have 2 cores. Each worker's
// wasm backend and ONNX Runtime session gets one thread (MARGIN_MSE_THREADS): two workers with a thread per core each oversubscribe the cores, and a
// threaded product waits for its slowest thread (docs/engine.md has the quickstart test's times).
// models/engine/wasm-threads.test.ts tests the threaded build in child processes of its own.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'checkpoints/**', 'dist/**'],
    // Compiles dist/ first when a source is newer (the CLI tests spawn bin/margin-mse.js, which runs dist/).
    globalSetup: ['./vitest.global-setup.js'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { MARGIN_MSE_THREADS: '1' },
  },
});
