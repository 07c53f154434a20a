import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../common/paths.js';
import { loadTokenizer, longestFirst, type Tokenizer } from './tokenizer.js';

const VOCAB = sharedPath('data', 'vocab', 'bert-base-uncased-vocab.txt');
interface Golden {
  text: string;
  tokens: string[];
  ids: number[];
}
const goldens: Golden[] = readFileSync(sharedPath('goldens', 'tokenizer', 'bert-base-uncased.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.length > 0)
  .map((l) => JSON.parse(l) as Golden);

let tok: Tokenizer;
beforeAll(async () => {
  tok = await loadTokenizer(VOCAB);
});

describe('WordPiece goldens (HF tokenizers, bert-base-uncased)', () => {
  it('has all 7411 rows', () => expect(goldens.length).toBe(7411));

  it('reproduces the tokens and ids of every row', () => {
    const wrong = goldens.filter((g) => {
      const { tokens, ids } = tok.encodeRaw(g.text);
      return JSON.stringify(ids) !== JSON.stringify(g.ids) || JSON.stringify(tokens) !== JSON.stringify(g.tokens);
    });
    expect(wrong.map((g) => g.text)).toEqual([]);
  });

  it('gives the same rows without the word cache, and with it warm', async () => {
    const cold = await loadTokenizer(VOCAB, { cacheSize: 0 });
    const tiny = await loadTokenizer(VOCAB, { cacheSize: 3 });
    for (const g of goldens.slice(6900)) {
      expect(cold.tokenize(g.text)).toEqual(g.tokens);
      expect(tiny.tokenize(g.text)).toEqual(g.tokens);
      expect(tok.tokenize(g.text)).toEqual(g.tokens);
    }
  });
});

describe('special tokens and truncation', () => {
  it('knows the special ids', () => {
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.vocabSize]).toEqual([0, 100, 101, 102, 30522]);
    expect(tok.vocabHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('encode wraps in [CLS] … [SEP] and truncates the whole to maxLength', () => {
    // "what is paula deen's brother" → 8 word pieces
    const g = goldens[0];
    expect(Array.from(tok.encode(g.text, 30))).toEqual([101, ...g.ids, 102]);
    expect(Array.from(tok.encode(g.text, 5))).toEqual([101, 2054, 2003, 13723, 102]);
    expect(Array.from(tok.encode('', 5))).toEqual([101, 102]);
    expect(() => tok.encode('x', 1)).toThrow(/at least 2/);
  });

  it('longestFirst matches the native tokenizers LongestFirst strategy', () => {
    // (n1, n2, budget) → kept, as measured with tokenizers 0.23.2 setTruncation(budget + 3, LongestFirst)
    const cases: [number, number, number, number, number][] = [
      [10, 10, 15, 7, 8],
      [10, 10, 14, 7, 7],
      [3, 20, 9, 3, 6],
      [20, 3, 9, 6, 3],
      [7, 8, 9, 4, 5],
      [8, 7, 9, 5, 4],
      [5, 5, 17, 5, 5],
      [9, 4, 5, 3, 2],
      [4, 9, 5, 2, 3],
    ];
    for (const [n1, n2, b, k1, k2] of cases) expect(longestFirst(n1, n2, b)).toEqual([k1, k2]);
  });

  it('encodePair builds [CLS] a [SEP] b [SEP] with token types', () => {
    const a = 'what is prime rate in canada'; // 6 pieces
    const b = 'treatment of varicose veins in legs'; // 8 pieces
    const full = tok.encodePair(a, b, 100);
    expect(Array.from(full.ids)).toEqual([101, 2054, 2003, 3539, 3446, 1999, 2710, 102, 3949, 1997, 13075, 11261, 3366, 9607, 1999, 3456, 102]);
    expect(Array.from(full.typeIds)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    // budget 12 - 3 = 9: shorter (6) keeps max(4, 9 - 8) = 4, longer gets 5
    const cut = tok.encodePair(a, b, 12);
    expect(Array.from(cut.ids)).toEqual([101, 2054, 2003, 3539, 3446, 102, 3949, 1997, 13075, 11261, 3366, 102]);
    expect(Array.from(cut.typeIds)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  });

  it('names the vocab file when it cannot be read', async () => {
    await expect(loadTokenizer('/nonexistent/vocab.txt')).rejects.toThrow(/\/nonexistent\/vocab.txt: expected a readable WordPiece vocab/);
  });
});
