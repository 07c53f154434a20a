import { defineConfig } from 'vitest/config';

// Tests live beside the code they test (`*.test.ts`). Two workers: CI machines have 2 cores.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'checkpoints/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
