import * as tf from '@tensorflow/tfjs-core';
import { padRows } from '../data/collate.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { BertCat } from '../models/bert-cat.js';

/**
 * Scoring `[CLS] query [SEP] passage [SEP]` pairs with BERT_Cat. Pairs are sorted by length and run in
 * chunks that pad only to their own longest pair: MS MARCO pairs vary from ~20 to 256+ tokens, attention
 * costs the square of the padded length, and padding a whole batch to its longest pair wastes most of it.
 */
interface EncodedPair {
  ids: Int32Array;
  typeIds: Int32Array;
}

interface PaddedPairs {
  ids: Int32Array; // [pairs, length]
  typeIds: Int32Array; // [pairs, length]
  mask: Int32Array; // [pairs, length]
  length: number;
}

/** Pads pairs with `padId` to the longest pair (token types with 0). */
function padPairs(pairs: EncodedPair[], padId: number): PaddedPairs {
  const { ids, mask, len } = padRows(pairs.map((e) => e.ids), padId);
  return { ids, typeIds: padRows(pairs.map((e) => e.typeIds), 0, len).ids, mask, length: len };
}

/** Scores padded pairs; returns plain numbers [pairs] (no tensors left behind). */
async function scorePadded(model: BertCat, p: PaddedPairs): Promise<Float32Array> {
  const n = p.ids.length / p.length;
  const scores = tf.tidy(() =>
    model.score(tf.tensor2d(p.ids, [n, p.length], 'int32'), tf.tensor2d(p.typeIds, [n, p.length], 'int32'), tf.tensor2d(p.mask, [n, p.length], 'int32')),
  );
  const out = (await scores.data()) as Float32Array; // asynchronous: webgpu cannot read synchronously in Node
  scores.dispose();
  return out;
}

export interface PairScoreOptions {
  /** Whole pair length, longest-first truncation. */
  maxLength: number;
  /** Pairs per forward pass after sorting by length; 0 = all pairs in one pass padded to the longest. */
  chunk?: number;
}

/** Tokenizes and scores pairs; scores come back in the order of `pairs`. */
export async function scorePairs(model: BertCat, tok: Tokenizer, pairs: [string, string][], opts: PairScoreOptions): Promise<Float32Array> {
  const enc = pairs.map(([q, p]) => tok.encodePair(q, p, opts.maxLength));
  const chunk = opts.chunk && opts.chunk > 0 ? opts.chunk : enc.length;
  const order = enc.map((_, i) => i).sort((a, b) => enc[a].ids.length - enc[b].ids.length);
  const out = new Float32Array(enc.length);
  for (let start = 0; start < order.length; start += chunk) {
    const idx = order.slice(start, start + chunk);
    const s = await scorePadded(model, padPairs(idx.map((i) => enc[i]), tok.padId));
    idx.forEach((i, k) => (out[i] = s[k]));
  }
  return out;
}
