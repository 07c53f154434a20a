import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * High-water marks of tensor memory in this process, for measurements (bench/memory.ts, the memory plan's
 * probe): installed once, before the tensors to count exist, by wrapping the active backend's allocation and
 * release. What is counted depends on the backend, and `measure` says which:
 * - wasm, `live-buffers`: the backend's tensor buffers (its move and disposeData), each buffer once: views and
 *   saved clones share one buffer; kernels' own temporaries count. What a GPU or native backend would hold.
 * - cpu, `cpu-arrays`: the typed arrays in the backend's data map, each underlying ArrayBuffer once (a simple
 *   slice's output is a view of its input's array and shares its bytes; an input tensor made from a view of a
 *   larger caller's array counts that whole array).
 * - webgpu, tensorflow and others, `engine-bytes`: tfjs's own count, tf.memory().numBytes, sampled at every
 *   tensor the engine tracks. It counts every tensor handle in full (a reshape or a clone saved for the
 *   backward counts again) and misses kernels' internal temporaries; the backends give nothing finer.
 */
export type MemoryMeasure = 'live-buffers' | 'cpu-arrays' | 'engine-bytes';

export const MEASURE_NOTES: Record<MemoryMeasure, string> = {
  'live-buffers': "live tensor buffers of the wasm backend, each once (kernels' temporaries included)",
  'cpu-arrays': "live typed arrays of the cpu backend, each ArrayBuffer once (views share their input's)",
  'engine-bytes': "tfjs's own count (tf.memory().numBytes): every tensor handle in full, so views and saved clones count again",
};

export interface MemoryTracker {
  readonly measure: MemoryMeasure;
  /** Bytes live now. */
  live(): number;
  /** High-water marks since the last reset: overall, before and from the first buffer of `watchBytes`. */
  marks(): { peak: number; beforeWatch: number; fromWatch: number | undefined; engine: number };
  /** Starts new high-water marks at the current level (and waits for the watched size again). */
  reset(): void;
  /** Puts the backend's methods back. */
  stop(): void;
}

export interface TrackOptions {
  /**
   * A buffer size in bytes to split the high-water mark at: `beforeWatch` is the peak before the first buffer
   * of this size since the last reset, `fromWatch` the peak from it on (e.g. the word embedding table's size:
   * its dense gradient starts the end of a training step's backward pass).
   */
  watchBytes?: number;
  /** Count with tfjs's own numBytes whatever the backend (to compare the measures). */
  engineBytes?: boolean;
}

const bytesOf = (shape: readonly number[], dtype: tf.DataType) =>
  dtype === 'string' || dtype === 'complex64' ? 0 : shape.reduce((a, b) => a * b, 1) * (dtype === 'bool' ? 1 : 4);

/** Tracks the active backend (call after initBackend). */
export function trackMemory(opts: TrackOptions = {}): MemoryTracker {
  let live = 0;
  let peak = 0;
  let beforeWatch = 0;
  let fromWatch: number | undefined;
  let engine = 0;
  const sample = () => {
    peak = Math.max(peak, live);
    if (fromWatch === undefined) beforeWatch = Math.max(beforeWatch, live);
    else fromWatch = Math.max(fromWatch, live);
    engine = Math.max(engine, tf.memory().numBytes);
  };
  /** Called with each new allocation's size, before it is added to `live`. */
  const allocating = (bytes: number) => {
    sample(); // the engine has counted the previous tensor by now
    if (bytes === opts.watchBytes && fromWatch === undefined) fromWatch = live;
  };
  const restore: (() => void)[] = [];
  let measure: MemoryMeasure;
  const name = tf.getBackend();

  if (name === 'wasm' && !opts.engineBytes) {
    measure = 'live-buffers';
    const backend = tf.backend() as BackendWasm;
    const sizes = new Map<object, number>();
    const move = backend.move;
    const dispose = backend.disposeData;
    backend.move = (dataId, values, shape, dtype, refCount) => {
      const bytes = bytesOf(shape, dtype);
      allocating(bytes);
      move.call(backend, dataId, values, shape, dtype, refCount);
      sizes.set(dataId, bytes);
      live += bytes;
      sample();
    };
    backend.disposeData = (dataId, force) => {
      const freed = dispose.call(backend, dataId, force);
      if (freed && sizes.has(dataId)) {
        live -= sizes.get(dataId)!;
        sizes.delete(dataId);
      }
      return freed;
    };
    restore.push(() => {
      backend.move = move;
      backend.disposeData = dispose;
    });
  } else if (name === 'cpu' && !opts.engineBytes) {
    measure = 'cpu-arrays';
    // The backend's data map holds each tensor's values; simple slices store a subarray of their input's
    // array, so bytes are counted per ArrayBuffer with the number of tensors holding it.
    const backend = tf.backend() as tf.KernelBackend & {
      write(values: unknown, shape: number[], dtype: tf.DataType): object;
      move(dataId: object, values: unknown, shape: number[], dtype: tf.DataType, refCount: number): void;
      disposeData(dataId: object, force?: boolean): boolean;
    };
    const holders = new Map<ArrayBufferLike, number>();
    const bufferOf = new Map<object, ArrayBufferLike>();
    const hold = (dataId: object, values: unknown) => {
      if (!ArrayBuffer.isView(values)) return; // strings: not counted
      const buf = values.buffer;
      const n = holders.get(buf) ?? 0;
      allocating(n === 0 ? buf.byteLength : 0);
      if (n === 0) live += buf.byteLength;
      holders.set(buf, n + 1);
      bufferOf.set(dataId, buf);
      sample();
    };
    const release = (dataId: object) => {
      const buf = bufferOf.get(dataId);
      if (!buf) return;
      bufferOf.delete(dataId);
      const n = holders.get(buf)! - 1;
      if (n > 0) holders.set(buf, n);
      else {
        holders.delete(buf);
        live -= buf.byteLength;
      }
    };
    const { write, move, disposeData } = backend;
    backend.write = (values, shape, dtype) => {
      const dataId = write.call(backend, values, shape, dtype);
      hold(dataId, values);
      return dataId;
    };
    backend.move = (dataId, values, shape, dtype, refCount) => {
      release(dataId);
      move.call(backend, dataId, values, shape, dtype, refCount);
      hold(dataId, values);
    };
    backend.disposeData = (dataId, force) => {
      const freed = disposeData.call(backend, dataId, force);
      if (freed) release(dataId);
      return freed;
    };
    restore.push(() => Object.assign(backend, { write, move, disposeData }));
  } else {
    measure = 'engine-bytes';
    const eng = tf.engine() as unknown as { trackTensor(t: tf.Tensor, backend: tf.KernelBackend): void };
    const track = eng.trackTensor;
    eng.trackTensor = (t, backend) => {
      live = tf.memory().numBytes; // tensors disposed since the last call are gone from it
      allocating(bytesOf(t.shape, t.dtype));
      track.call(eng, t, backend);
      live = tf.memory().numBytes;
      sample();
    };
    restore.push(() => {
      eng.trackTensor = track;
    });
  }

  const current = () => (measure === 'engine-bytes' ? tf.memory().numBytes : live);
  return {
    measure,
    live: current,
    marks() {
      live = current();
      sample();
      return { peak, beforeWatch, fromWatch, engine };
    },
    reset() {
      live = current();
      peak = beforeWatch = live;
      fromWatch = undefined;
      engine = tf.memory().numBytes;
    },
    stop() {
      for (const r of restore) r();
    },
  };
}
