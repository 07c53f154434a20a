import { porterStem } from './porter.js';

/**
 * The BM25 analyzer, modelled on Anserini's default (Lucene's EnglishAnalyzer): lowercase, drop English
 * possessives (`'s`), split on anything that is not a Unicode letter or digit, remove Lucene's 33 English
 * stop words (ENGLISH_STOP_WORDS_SET), Porter-stem (Lucene's variant, porter.ts). Lucene's
 * StandardTokenizer follows Unicode word-break rules (it keeps `e.g`, `3.5`, `o'neil` together), which
 * this simple split does not: scores are close to Anserini's, not equal; for the published BM25 numbers,
 * import Pyserini's run with `readRun`.
 */
export const STOPWORDS = new Set(
  'a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with'.split(' '),
);

// Stems of recent words: MS MARCO's vocabulary is Zipfian, so most tokens hit. Cleared when full.
const stems = new Map<string, string>();

function stem(word: string): string {
  let s = stems.get(word);
  if (s === undefined) {
    if (stems.size >= 200_000) stems.clear();
    stems.set(word, (s = porterStem(word)));
  }
  return s;
}

export function analyze(text: string, opts: { stopwords?: boolean; stem?: boolean } = {}): string[] {
  const useStop = opts.stopwords ?? true;
  const useStem = opts.stem ?? true;
  const out: string[] = [];
  for (const tok of text.toLowerCase().replace(/['’]s(?![\p{L}\p{N}])/gu, '').split(/[^\p{L}\p{N}]+/u)) {
    if (tok !== '' && !(useStop && STOPWORDS.has(tok))) out.push(useStem ? stem(tok) : tok);
  }
  return out;
}
