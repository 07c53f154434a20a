/**
 * What the batcher hands the trainer: one batch of tokenized (query, positive, negative) triples with
 * their teacher scores. Token rows are padded with [PAD]=0 to the longest row of that part in the batch,
 * row-major, so `qIds.length === size * qLen`. Masks are 1 for real tokens, 0 for padding.
 */
export interface TripleBatch {
  size: number;
  qLen: number;
  qIds: Int32Array; // [size, qLen]
  qMask: Int32Array; // [size, qLen]
  pLen: number;
  posIds: Int32Array; // [size, pLen]
  posMask: Int32Array; // [size, pLen]
  nLen: number;
  negIds: Int32Array; // [size, nLen]
  negMask: Int32Array; // [size, nLen]
  /** Teacher scores; NaN-free. For teacher-less data (plain text triples) these are zeros and `hasTeacher` false. */
  teacherPos: Float32Array; // [size]
  teacherNeg: Float32Array; // [size]
  hasTeacher: boolean;
}

/** A JSON-serializable position in the batch stream; restoring it replays exactly the batches that follow. */
export type BatchCursor = Record<string, unknown>;

/** A stream of batches that can say where it is. The trainer only knows this interface. */
export interface BatchSource {
  /** The next batch, or null at the end of the data (end of the configured epochs). */
  next(): Promise<TripleBatch | null>;
  /** Position after the last batch returned by next(). */
  cursor(): BatchCursor;
  close(): Promise<void>;
}
