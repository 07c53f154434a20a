/**
 * The Porter stemmer (M.F. Porter, 1980) in the variant of Lucene's PorterStemFilter, which Anserini's
 * English analyzer applies: the published reference implementation with its two departures from the paper
 * (step 2 maps -bli → -ble instead of -abli → -able, and adds -logi → -log) and words of one or two letters
 * left alone. Hand-written because no maintained Porter package is among the dependencies; checked against
 * Snowball's `porter` (the paper's algorithm) on the sample collection's words in porter.test.ts.
 * Input: lowercase ASCII letters (other words are returned unchanged).
 */
const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

/** w[i] is a consonant: not a vowel, and `y` only after a vowel (or at the start). */
function cons(w: string, i: number): boolean {
  const c = w[i];
  if (VOWELS.has(c)) return false;
  if (c === 'y') return i === 0 || !cons(w, i - 1);
  return true;
}

/** m, the number of VC sequences in w[0..len). */
function measure(w: string, len: number): number {
  let n = 0;
  let i = 0;
  while (i < len && cons(w, i)) i++;
  for (;;) {
    while (i < len && !cons(w, i)) i++;
    if (i >= len) return n;
    n++;
    while (i < len && cons(w, i)) i++;
  }
}

function hasVowel(w: string, len: number): boolean {
  for (let i = 0; i < len; i++) if (!cons(w, i)) return true;
  return false;
}

function doubleCons(w: string, len: number): boolean {
  return len >= 2 && w[len - 1] === w[len - 2] && cons(w, len - 1);
}

/** w[0..len) ends consonant-vowel-consonant, the last not w, x or y (e.g. -hop, not -how). */
function cvc(w: string, len: number): boolean {
  if (len < 3 || !cons(w, len - 1) || cons(w, len - 2) || !cons(w, len - 3)) return false;
  const c = w[len - 1];
  return c !== 'w' && c !== 'x' && c !== 'y';
}

/** The first rule whose suffix w ends with; it applies when m(stem) > minM, else nothing (no fallback). */
function replaceFirst(w: string, rules: [string, string][], minM: number): string {
  for (const [suffix, repl] of rules) {
    if (w.endsWith(suffix)) {
      const stem = w.length - suffix.length;
      return measure(w, stem) > minM ? w.slice(0, stem) + repl : w;
    }
  }
  return w;
}

// Rule lists in the reference implementation's order (longer suffixes before their tails).
const STEP2: [string, string][] = [
  ['ational', 'ate'], ['tional', 'tion'], ['enci', 'ence'], ['anci', 'ance'], ['izer', 'ize'], ['bli', 'ble'],
  ['alli', 'al'], ['entli', 'ent'], ['eli', 'e'], ['ousli', 'ous'], ['ization', 'ize'], ['ation', 'ate'],
  ['ator', 'ate'], ['alism', 'al'], ['iveness', 'ive'], ['fulness', 'ful'], ['ousness', 'ous'], ['aliti', 'al'],
  ['iviti', 'ive'], ['biliti', 'ble'], ['logi', 'log'],
];
const STEP3: [string, string][] = [
  ['icate', 'ic'], ['ative', ''], ['alize', 'al'], ['iciti', 'ic'], ['ical', 'ic'], ['ful', ''], ['ness', ''],
];
const STEP4 = ['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'ion', 'ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize'];

export function porterStem(word: string): string {
  if (word.length <= 2 || !/^[a-z]+$/.test(word)) return word;
  let w = word;
  // Step 1a: plurals.
  if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ies')) w = `${w.slice(0, -3)}i`;
  else if (w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
  // Step 1b: -eed, -ed, -ing.
  if (w.endsWith('eed')) {
    if (measure(w, w.length - 3) > 0) w = w.slice(0, -1);
  } else {
    const cut = w.endsWith('ed') ? 2 : w.endsWith('ing') ? 3 : 0;
    if (cut && hasVowel(w, w.length - cut)) {
      w = w.slice(0, -cut);
      if (w.endsWith('at') || w.endsWith('bl') || w.endsWith('iz')) w += 'e';
      else if (doubleCons(w, w.length) && !'lsz'.includes(w[w.length - 1])) w = w.slice(0, -1);
      else if (measure(w, w.length) === 1 && cvc(w, w.length)) w += 'e';
    }
  }
  // Step 1c: -y → -i after a vowel.
  if (w.endsWith('y') && hasVowel(w, w.length - 1)) w = `${w.slice(0, -1)}i`;
  w = replaceFirst(w, STEP2, 0);
  w = replaceFirst(w, STEP3, 0);
  // Step 4: drop a suffix when m(stem) > 1; -ion only after s or t.
  for (const suffix of STEP4) {
    if (!w.endsWith(suffix)) continue;
    const stem = w.length - suffix.length;
    if (suffix === 'ion' && !(stem > 0 && (w[stem - 1] === 's' || w[stem - 1] === 't'))) continue;
    if (measure(w, stem) > 1) w = w.slice(0, stem);
    break;
  }
  // Step 5: final -e, and -ll → -l.
  if (w.endsWith('e')) {
    const m = measure(w, w.length - 1);
    if (m > 1 || (m === 1 && !cvc(w, w.length - 1))) w = w.slice(0, -1);
  }
  if (w.endsWith('l') && doubleCons(w, w.length) && measure(w, w.length) > 1) w = w.slice(0, -1);
  return w;
}
