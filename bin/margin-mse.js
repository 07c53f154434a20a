#!/usr/bin/env node
// The installed `margin-mse` command: runs the compiled CLI in dist/ (built by `npm run build`, which npm's
// `prepare` runs at install). In a checkout whose sources changed since the last build, it runs the sources
// through tsx instead (slower to start), so a stale build is never run.
import { buildIsCurrent } from './build.js';

if (buildIsCurrent()) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
