/**
 * The BM25 analyzer: lowercase, drop English possessives (`'s`), split on anything that is not a Unicode
 * letter or digit, remove Lucene's 33 English stop words (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET).
 * No stemming: Anserini's MS MARCO index also applies the Porter stemmer, so our BM25 scores (and runs) are
 * close to, not equal to, Pyserini's; for the published BM25 numbers import their run with `readRun`.
 */
export const STOPWORDS = new Set(
  'a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with'.split(' '),
);

export function analyze(text: string, opts: { stopwords?: boolean } = {}): string[] {
  const useStop = opts.stopwords ?? true;
  const out: string[] = [];
  for (const tok of text.toLowerCase().replace(/['’]s(?![\p{L}\p{N}])/gu, '').split(/[^\p{L}\p{N}]+/u)) {
    if (tok !== '' && !(useStop && STOPWORDS.has(tok))) out.push(tok);
  }
  return out;
}
