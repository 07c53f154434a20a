import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, sharedPath } from '../common/paths.js';
import { tempFiles } from '../common/testing.js';
import { modelVocab, resolveVocab } from './vocab-name.js';

const BUNDLED = path.join(ROOT, 'data', 'vocab', 'bert-base-uncased-vocab.txt');

describe('vocab names', () => {
  it('a bare name is the bundled file; a path is itself; an unknown name lists the bundled ones', () => {
    expect(resolveVocab('bert-base-uncased')).toBe(BUNDLED);
    expect(resolveVocab('some/dir/vocab.txt')).toBe('some/dir/vocab.txt');
    expect(() => resolveVocab('bert-large-cased')).toThrow(/vocab bert-large-cased: not a bundled vocabulary \(bundled: .*bert-base-uncased.*\)/);
  });

  it("modelVocab: --vocab as a file or a name, else the folder's vocab.txt, else one line saying what to pass", () => {
    const withVocab = tempFiles('model-vocab-');
    withVocab('[PAD]\n', 'vocab.txt');
    const withoutVocab = sharedPath('goldens', 'distilbert-tiny');
    expect(modelVocab(withoutVocab, 'bert-base-uncased')).toBe(BUNDLED);
    expect(() => modelVocab(withoutVocab)).toThrow(`${withoutVocab}: the model folder has no vocab.txt; pass --vocab FILE, or a bundled name such as --vocab bert-base-uncased`);
    expect(() => modelVocab(withoutVocab, '/nowhere/vocab.txt')).toThrow('/nowhere/vocab.txt: expected a WordPiece vocab.txt (--vocab), got no such file');
    expect(modelVocab(withVocab.dir)).toBe(path.join(withVocab.dir, 'vocab.txt'));
  });
});
