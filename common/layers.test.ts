import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './paths.js';

/**
 * The layering of the folders (README "Where things live"): a folder imports only from itself and from lower
 * layers, so stages are libraries and drivers sit on top. bench/ may import anything; tests are not checked.
 */
const LAYERS: Record<string, number> = {
  common: 0,
  data: 1,
  models: 2,
  train: 3,
  eval: 3,
  teachers: 3,
  parity: 4,
  quickstart: 4,
  pipelines: 5,
  sweep: 6,
  cli: 7,
};
const EXEMPT = new Set(['bench', 'node_modules', 'checkpoints', 'configs', 'docs', 'bin', 'cache']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name.startsWith('.') || EXEMPT.has(e.name) ? [] : sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && dir !== ROOT ? [p] : [];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

describe('layers', () => {
  it('no source file imports a higher layer, or a folder outside the table', () => {
    const top = (file: string) => path.relative(ROOT, file).split(path.sep)[0];
    const wrong: string[] = [];
    for (const file of sources(ROOT)) {
      const from = top(file);
      if (!(from in LAYERS)) {
        wrong.push(`${path.relative(ROOT, file)}: folder ${from}/ has no layer (add it to LAYERS and the README)`);
        continue;
      }
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const to = top(path.resolve(path.dirname(file), spec));
        if (to !== from && !(LAYERS[to] < LAYERS[from])) wrong.push(`${path.relative(ROOT, file)} imports '${spec}' (${from}/ is layer ${LAYERS[from]}, ${to}/ is ${LAYERS[to] ?? 'not in the table'})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the check sees imports: a file of every layered folder is found', () => {
    const found = new Set(sources(ROOT).map((f) => path.relative(ROOT, f).split(path.sep)[0]));
    expect([...found].sort()).toEqual(Object.keys(LAYERS).sort());
  });
});
