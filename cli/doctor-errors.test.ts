import { describe, expect, it } from 'vitest';
import { expectOk, runCli } from './testing.js';

/** `margin-mse doctor` (issue 16): probing for a GPU adapter is quiet; the report says what was found. */
describe('doctor', () => {
  it("reports without Dawn's 'Couldn't load Vulkan' and 'artificially reduced' warnings on stderr", async () => {
    const r = await runCli(['doctor'], { timeoutMs: 120_000 });
    expectOk(r);
    expect(r.stdout).toMatch(/^backends:/m);
    expect(r.stdout).toMatch(/auto picks: \w+/);
  });
});
