import {
  UnsortedSegmentSum,
  util,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  type TypedArray,
  type UnsortedSegmentSumAttrs,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * UnsortedSegmentSum as one scatter-add pass: out[ids[i]] += x[i].
 *
 * Why hand-written: it is the gradient of `tf.gather`, i.e. of every embedding lookup. The wasm backend does
 * not register it at all, and the cpu backend's version loops over every segment (30522 vocabulary rows),
 * each time comparing all ids and summing the whole input: hours per step. One pass over the input is
 * O(ids × row) plus zeroing the output.
 *
 * Semantics as TensorFlow's: `segmentIds` covers the leading dims of `x` ([n] for x [n, ...row]); the output is
 * [numSegments, ...row]; ids outside [0, numSegments) are dropped.
 */
export function scatterAdd(
  x: TypedArray, // [rows * rowSize]
  ids: TypedArray, // [rows]
  rowSize: number,
  out: TypedArray, // [numSegments * rowSize], zero on entry
  numSegments: number,
): void {
  for (let r = 0; r < ids.length; r++) {
    const seg = ids[r];
    if (seg < 0 || seg >= numSegments) continue;
    const src = r * rowSize;
    const dst = seg * rowSize;
    for (let j = 0; j < rowSize; j++) out[dst + j] += x[src + j];
  }
}

/** Output shape and row size for x [...idsShape, ...row]. */
function layout(x: TensorInfo, segmentIds: TensorInfo, numSegments: number) {
  const rows = util.sizeFromShape(segmentIds.shape);
  util.assert(
    util.arraysEqual(x.shape.slice(0, segmentIds.shape.length), segmentIds.shape),
    () => `UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must prefix x shape [${x.shape}]`,
  );
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = util.sizeFromShape(rowShape);
  return { rows, rowSize, outShape: [numSegments, ...rowShape] };
}

const cpuSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const { rowSize, outShape } = layout(x, segmentIds, numSegments);
  const out = util.getTypedArrayFromDType(x.dtype as 'float32' | 'int32', numSegments * rowSize);
  const xv = cpu.data.get(x.dataId).values as TypedArray;
  const ids = cpu.data.get(segmentIds.dataId).values as TypedArray;
  scatterAdd(xv, ids, rowSize, out, numSegments);
  return cpu.makeTensorInfo(outShape, x.dtype, out);
};

const wasmSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const { rowSize, outShape } = layout(x, segmentIds, numSegments);
  const out = wasm.makeOutput(outShape, x.dtype);
  // Views into the wasm heap are taken after the allocation above: growing the heap detaches older views.
  const outView = wasm.typedArrayFromHeap(out);
  outView.fill(0);
  scatterAdd(wasm.typedArrayFromHeap(x), wasm.typedArrayFromHeap(segmentIds), rowSize, outView, numSegments);
  return out;
};

export const cpuSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'cpu',
  kernelFunc: cpuSegmentSum,
};

export const wasmSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: wasmSegmentSum,
};
