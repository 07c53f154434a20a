import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { InputError } from '../common/errors.js';

/**
 * bert-base-uncased WordPiece, written by hand to the exact semantics of HuggingFace `tokenizers`
 * (BertNormalizer + BertPreTokenizer + WordPiece, as loaded from the official tokenizer.json).
 *
 * Why hand-written instead of @huggingface/tokenizers or the native `tokenizers`: the native package gives the
 * goldens' ids (the other lowercases a final Σ to ς), but both are several times slower (bench/data.ts, figures
 * in docs/data.md), and prepare tokenizes 8.8M passages. Here printable-ASCII
 * texts (most of MS MARCO) take a char-code loop with a class table instead of Unicode regexes, vocab
 * entries are found by their character range in the text through an FNV hash table (no string per word,
 * no `##` concatenation), and words that split into several pieces are memoized. Other texts are cut at
 * ASCII whitespace and only the chunks with other characters take the general path, which follows the
 * reference step by step:
 *  1. clean text: drop U+0000, U+FFFD and "other" characters (Unicode C*, except \t \n \r); whitespace → ' '
 *  2. put spaces around CJK ideographs
 *  3. NFD, then drop non-spacing marks (Mn)
 *  4. lowercase per character (so a final capital sigma becomes σ, as in Rust, not ς as JS's
 *     context-sensitive String.prototype.toLowerCase would give)
 *  5. split on whitespace; every punctuation character (ASCII punctuation or Unicode P*) is a word of its own
 *  6. WordPiece per word: greedy longest-match-first, `##` on continuations; a word with an unmatched rest,
 *     or longer than 100 characters (code points), becomes one [UNK]
 */
export interface Tokenizer {
  /** WordPiece tokens, no [CLS]/[SEP], no truncation. */
  tokenize(text: string): string[];
  /** Tokens and ids, no [CLS]/[SEP], no truncation. */
  encodeRaw(text: string): { tokens: string[]; ids: number[] };
  /** `[CLS] text [SEP]`, the text truncated so the whole is at most `maxLength` ids. */
  encode(text: string, maxLength: number): Int32Array;
  /** `[CLS] a [SEP] b [SEP]` for BERT_Cat, HF longest-first truncation to at most `maxLength` ids. */
  encodePair(a: string, b: string, maxLength: number): { ids: Int32Array; typeIds: Int32Array };
  /** Token ids without specials, for callers that add their own (number[] avoids a copy). */
  ids(text: string): number[];
  idToToken(id: number): string;
  readonly vocabSize: number;
  /** sha256 of the vocab file's bytes: identifies the tokenizer in cache manifests. */
  readonly vocabHash: string;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
}

export interface TokenizerOptions {
  /** Words whose ids are memoized; 0 disables the cache. Cleared when full (bounded memory). */
  cacheSize?: number;
}

export async function loadTokenizer(vocabFile: string, opts: TokenizerOptions = {}): Promise<Tokenizer> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(vocabFile);
  } catch (e) {
    throw new InputError(vocabFile, undefined, 'a readable WordPiece vocab file (one token per line)', (e as Error).message);
  }
  const hash = createHash('sha256').update(bytes).digest('hex');
  const lines = bytes.toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return new WordPieceTokenizer(
    lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)),
    hash,
    opts,
    vocabFile,
  );
}

const MAX_WORD_CHARS = 100;

// Character classes of the ASCII fast path.
const WORD = 0;
const SPACE = 1;
const PUNCT = 2;
const ASCII_CLASS = (() => {
  const t = new Uint8Array(128).fill(WORD);
  for (const c of '\t\n\r ') t[c.charCodeAt(0)] = SPACE;
  for (const c of '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~') t[c.charCodeAt(0)] = PUNCT;
  return t;
})();
/** Texts made only of printable ASCII, tab, LF and CR need no Unicode normalization at all. */
const NOT_SIMPLE_ASCII = /[^\x20-\x7e\t\n\r]/;

const DROP = /[\u0000\ufffd]|(?![\t\n\r])\p{C}/gu;
const WHITESPACE = /[\t\n\r]|\p{White_Space}/gu;
/** The CJK Unified Ideograph blocks BERT spaces out (not Hiragana, Katakana or Hangul). */
const CJK =
  /[\u{4E00}-\u{9FFF}\u{3400}-\u{4DBF}\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B920}-\u{2CEAF}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}]/gu;
const NONSPACING_MARK = /\p{Mn}/gu;
const CAPITAL_SIGMA = /\u03a3/g;
const WORDS = /[!-/:-@[-`{-~]|\p{P}|[^ !-/:-@[-`{-~\p{P}]+/gu;

/**
 * Word-initial vocab entries in an open-addressing table keyed by an FNV-1a hash of the characters, so a
 * word can be looked up by its range in the text without slicing it out: most words are whole vocab
 * entries, and not allocating a string per word is most of the fast path's speed.
 */
class RangeTable {
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(private readonly keys: string[]) {
    let size = 1;
    while (size < keys.length * 4) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  static hash(s: string, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h >>> 0;
  }

  add(id: number): void {
    const key = this.keys[id];
    let slot = RangeTable.hash(key, 0, key.length) & this.mask;
    while (this.slots[slot] >= 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = id;
  }

  /** The id of `s[start:end]`, or -1. */
  get(s: string, start: number, end: number): number {
    const len = end - start;
    for (let slot = RangeTable.hash(s, start, end) & this.mask; ; slot = (slot + 1) & this.mask) {
      const id = this.slots[slot];
      if (id < 0) return -1;
      const key = this.keys[id];
      if (key.length !== len) continue;
      let i = 0;
      while (i < len && key.charCodeAt(i) === s.charCodeAt(start + i)) i++;
      if (i === len) return id;
    }
  }
}

/** Steps 1-4 for a text outside the ASCII fast path. */
export function normalize(text: string): string {
  let s = text.replace(DROP, '').replace(WHITESPACE, ' ').replace(CJK, ' $& ');
  s = s.normalize('NFD').replace(NONSPACING_MARK, '');
  return s.replace(CAPITAL_SIGMA, '\u03c3').toLowerCase();
}

class WordPieceTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  /** Word-initial pieces → id. */
  private readonly initial = new Map<string, number>();
  /** Continuation pieces, keyed without their `##` → id. */
  private readonly continuation = new Map<string, number>();
  private readonly initialRanges: RangeTable;
  private readonly continuationRanges: RangeTable;
  /** Longest piece in UTF-16 code units: bounds the greedy search. */
  private readonly maxPiece: number;
  private readonly cache = new Map<string, number[]>();
  private readonly cacheSize: number;

  constructor(
    private readonly vocab: string[],
    readonly vocabHash: string,
    opts: TokenizerOptions,
    file: string,
  ) {
    let maxPiece = 1;
    this.initialRanges = new RangeTable(vocab);
    this.continuationRanges = new RangeTable(vocab.map((tok) => tok.slice(2)));
    vocab.forEach((tok, id) => {
      if (tok.startsWith('##') && tok.length > 2) {
        this.continuation.set(tok.slice(2), id);
        this.continuationRanges.add(id);
      } else if (!this.initial.has(tok)) {
        this.initial.set(tok, id);
        this.initialRanges.add(id);
      }
      maxPiece = Math.max(maxPiece, tok.length);
    });
    this.maxPiece = maxPiece;
    this.vocabSize = vocab.length;
    const need = (tok: string): number => {
      const id = this.initial.get(tok);
      if (id === undefined) throw new InputError(file, undefined, `a WordPiece vocab containing ${tok}`);
      return id;
    };
    this.padId = need('[PAD]');
    this.unkId = need('[UNK]');
    this.clsId = need('[CLS]');
    this.sepId = need('[SEP]');
    this.cacheSize = opts.cacheSize ?? 100_000;
  }

  idToToken(id: number): string {
    return this.vocab[id];
  }

  tokenize(text: string): string[] {
    return this.ids(text).map((id) => this.vocab[id]);
  }

  encodeRaw(text: string): { tokens: string[]; ids: number[] } {
    const ids = this.ids(text);
    return { tokens: ids.map((id) => this.vocab[id]), ids };
  }

  encode(text: string, maxLength: number): Int32Array {
    return withSpecials(this.ids(text), maxLength, this);
  }

  encodePair(a: string, b: string, maxLength: number): { ids: Int32Array; typeIds: Int32Array } {
    if (maxLength < 3) throw new RangeError(`maxLength must be at least 3 ([CLS] and two [SEP]), got ${maxLength}`);
    const x = this.ids(a);
    const y = this.ids(b);
    const [nx, ny] = longestFirst(x.length, y.length, maxLength - 3);
    const ids = new Int32Array(nx + ny + 3);
    const typeIds = new Int32Array(nx + ny + 3);
    ids[0] = this.clsId;
    for (let i = 0; i < nx; i++) ids[1 + i] = x[i];
    ids[1 + nx] = this.sepId;
    for (let i = 0; i < ny; i++) ids[2 + nx + i] = y[i];
    ids[2 + nx + ny] = this.sepId;
    typeIds.fill(1, 2 + nx);
    return { ids, typeIds };
  }

  ids(text: string): number[] {
    const out: number[] = [];
    if (!NOT_SIMPLE_ASCII.test(text)) {
      this.asciiWords(text.toLowerCase(), out);
      return out;
    }
    // Every normalization step maps characters one by one (NFD reorders only runs of combining marks,
    // which a space ends), and ASCII whitespace always separates words; so the text can be cut at ASCII
    // whitespace and only the chunks with other characters need the Unicode path.
    const n = text.length;
    let i = 0;
    while (i < n) {
      while (i < n && ASCII_CLASS[text.charCodeAt(i)] === SPACE) i++;
      const start = i;
      let simple = true;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c < 0x80 && ASCII_CLASS[c] === SPACE) break;
        if (c < 0x20 || c > 0x7e) simple = false;
      }
      if (start === i) break;
      const chunk = text.slice(start, i);
      if (simple) this.asciiWords(chunk.toLowerCase(), out);
      else for (const m of normalize(chunk).matchAll(WORDS)) this.word(m[0], out);
    }
    return out;
  }

  /** Fast path for lowercased printable ASCII (plus \t \n \r): split with the class table. */
  private asciiWords(s: string, out: number[]): void {
    let start = -1;
    for (let i = 0; i < s.length; i++) {
      const cls = ASCII_CLASS[s.charCodeAt(i)];
      if (cls === WORD) {
        if (start < 0) start = i;
        continue;
      }
      if (start >= 0) {
        this.wordAt(s, start, i, out);
        start = -1;
      }
      if (cls === PUNCT) this.wordAt(s, i, i + 1, out);
    }
    if (start >= 0) this.wordAt(s, start, s.length, out);
  }

  /** `word(s.slice(start, end))`, without the slice when the word is a vocab entry (vocab entries are short). */
  private wordAt(s: string, start: number, end: number, out: number[]): void {
    const id = end - start <= this.maxPiece ? this.initialRanges.get(s, start, end) : -1;
    if (id >= 0) out.push(id);
    else this.word(s.slice(start, end), out);
  }

  /** Appends the WordPiece ids of one pre-tokenized word. */
  private word(w: string, out: number[]): void {
    const whole = this.initial.get(w);
    if (whole !== undefined && w.length <= MAX_WORD_CHARS) {
      out.push(whole);
      return;
    }
    let ids = this.cache.get(w);
    if (ids === undefined) {
      ids = this.pieces(w);
      if (this.cacheSize > 0) {
        if (this.cache.size >= this.cacheSize) this.cache.clear();
        this.cache.set(w, ids);
      }
    }
    for (const id of ids) out.push(id);
  }

  /** Greedy longest-match-first over code points; [UNK] for the whole word if any rest has no piece. */
  private pieces(w: string): number[] {
    // Index by code point so a piece never splits a surrogate pair (the reference works on chars).
    const cps = Array.from(w);
    if (cps.length > MAX_WORD_CHARS) return [this.unkId];
    const ascii = cps.length === w.length;
    const ids: number[] = [];
    let start = 0;
    while (start < cps.length) {
      const map = start === 0 ? this.initial : this.continuation;
      const ranges = start === 0 ? this.initialRanges : this.continuationRanges;
      let end = Math.min(cps.length, start + this.maxPiece);
      let found = -1;
      while (end > start) {
        const id = ascii ? ranges.get(w, start, end) : (map.get(cps.slice(start, end).join('')) ?? -1);
        if (id >= 0) {
          found = id;
          break;
        }
        end--;
      }
      if (found < 0) return [this.unkId];
      ids.push(found);
      start = end;
    }
    return ids;
  }
}

/** `[CLS] ids [SEP]` with `ids` cut so the whole is at most `maxLength` (HF's single-sequence truncation). */
export function withSpecials(ids: ArrayLike<number>, maxLength: number, specials: { clsId: number; sepId: number }): Int32Array {
  if (maxLength < 2) throw new RangeError(`maxLength must be at least 2 ([CLS] and [SEP]), got ${maxLength}`);
  const n = Math.min(ids.length, maxLength - 2);
  const out = new Int32Array(n + 2);
  out[0] = specials.clsId;
  for (let i = 0; i < n; i++) out[i + 1] = ids[i];
  out[n + 1] = specials.sepId;
  return out;
}

/**
 * How many tokens of each sequence HF's LongestFirst truncation keeps within `budget` (measured against
 * the native `tokenizers`): the shorter sequence (the first on a tie) keeps up to max(⌊budget/2⌋,
 * budget - longer), the longer one takes the rest. E.g. (10, 10) in 15 → (7, 8); (8, 7) in 9 → (5, 4).
 */
export function longestFirst(n1: number, n2: number, budget: number): [number, number] {
  if (n1 + n2 <= budget) return [n1, n2];
  const firstShort = n1 <= n2;
  const short = firstShort ? n1 : n2;
  const long = firstShort ? n2 : n1;
  const keepShort = Math.min(short, Math.max(Math.floor(budget / 2), budget - long));
  const keepLong = Math.min(long, budget - keepShort);
  return firstShort ? [keepShort, keepLong] : [keepLong, keepShort];
}
