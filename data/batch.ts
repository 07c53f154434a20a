import type { Padded } from './collate.js';

/**
 * What the batcher hands the trainer: B queries, each with a group of G = 1 + K passages (its positive, then K
 * negatives) and the teacher's score of every passage. Passages are group-major, query b's positive is row
 * b * G, so every passage of a batch is encoded once and the in-batch score matrix has the same column order.
 * A training triple is a group of 2 (K = 1). Token rows are padded with [PAD]=0 to the longest row of their
 * part (queries, passages) in the batch; masks are 1 on tokens, 0 on padding.
 */
export interface GroupBatch {
  /** B: queries. */
  size: number;
  /** G = 1 + K: passages per query. */
  group: number;
  queries: Padded; // [B, qLen]
  passages: Padded; // [B * G, pLen]
  /** Teacher scores [B * G] in passage order; zeros when `hasTeacher` is false (plain text triples). NaN-free. */
  teacher: Float32Array;
  hasTeacher: boolean;
}

/** A JSON-serializable position in the batch stream; restoring it replays exactly the batches that follow. */
export type BatchCursor = Record<string, unknown>;

/** A stream of batches that can say where it is. The trainer only knows this interface. */
export interface BatchSource {
  /** The next batch, or null at the end of the data (end of the configured epochs). */
  next(): Promise<GroupBatch | null>;
  /** Position after the last batch returned by next(). */
  cursor(): BatchCursor;
  close(): Promise<void>;
}
