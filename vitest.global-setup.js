// Before any test: compile the sources to dist/ when one is newer than the build, so the tests that spawn
// `margin-mse` (bin/margin-mse.js runs dist/) test the current code. Type errors do not stop the tests
// (`npm run typecheck` reports them); a failed emit does.
import { build, buildIsCurrent } from './bin/build.js';

export default function setup() {
  if (buildIsCurrent()) return;
  const status = build();
  if (status !== 0 && status !== 2) throw new Error(`building dist/ failed (tsc exit ${status}): run npm run build`);
}
