import {
  BatchMatMul,
  broadcast_util,
  getKernel,
  Reshape,
  Transpose,
  util,
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * BatchMatMul for the wasm backend, built from the backend's own fast kernels.
 *
 * Why: the stock wasm kernel reaches XNNPACK's packed GEMM only for one untransposed 2-D product
 * (batch 1 on both sides); anything batched or transposed (attention, every backward product) runs a naive
 * loop, an order of magnitude slower (measured in docs/engine.md).
 * Here transposes are materialized once with the (cheap, memory-bound) wasm Transpose kernel, a product whose
 * right side is shared over the batch becomes one tall 2-D product, and the rest runs as one 2-D product per
 * batch slice, each through the stock kernel's fast path.
 */
export function wasmBatchMatMulConfig(stock: KernelConfig): KernelConfig {
  const stockMatMul = stock.kernelFunc;
  const reshapeK = kernelOf(Reshape);
  const transposeK = kernelOf(Transpose);

  const kernelFunc: KernelFunc = (args) => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stockMatMul(args);
    const aRank = a.shape.length;
    const bRank = b.shape.length;
    const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
    const k = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
    const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
    const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
    util.assert(k === kB, () => `matMul: inner dims ${k} and ${kB} of [${a.shape}] and [${b.shape}] must match`);
    const aOuter = a.shape.slice(0, -2);
    const bOuter = b.shape.slice(0, -2);
    const outOuter = broadcast_util.assertAndGetBroadcastShape(aOuter, bOuter);
    const batchA = util.sizeFromShape(aOuter);
    const batchB = util.sizeFromShape(bOuter);
    const outShape = [...outOuter, m, n];

    const temps: TensorInfo[] = [];
    const keep = (t: TensorInfo) => (temps.push(t), t);
    const reshape = (x: TensorInfo, shape: number[]) =>
      keep(reshapeK({ inputs: { x }, backend, attrs: { shape } }) as TensorInfo);
    // [batch, rows, cols] contiguous, the last two dims swapped first when `swap`.
    const canonical = (x: TensorInfo, batch: number, rows: number, cols: number, swap: boolean) =>
      swap
        ? keep(transposeK({ inputs: { x: reshape(x, [batch, cols, rows]) }, backend, attrs: { perm: [0, 2, 1] } }) as TensorInfo)
        : reshape(x, [batch, rows, cols]);
    const product = (x: TensorInfo, y: TensorInfo) =>
      stockMatMul({ inputs: { a: x, b: y }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
    const transpose2d = (x: TensorInfo) => transposeK({ inputs: { x }, backend, attrs: { perm: [1, 0] } }) as TensorInfo;

    try {
      if (batchA === 1 && batchB === 1) {
        const ops = { reshape, transposeTemp: (x: TensorInfo) => keep(transpose2d(x)), product, transposeOut: transpose2d, keep };
        const out = singleProduct(a, b, m, k, n, transposeA, transposeB, ops);
        out.shape = outShape;
        return out;
      }
      const a3 = canonical(a, batchA, m, k, transposeA); // [batchA, m, k]
      const b3 = canonical(b, batchB, k, n, transposeB); // [batchB, k, n]
      if (batchB === 1 && batchA === util.sizeFromShape(outOuter)) {
        // B shared by every batch row: one tall product [batchA * m, k] x [k, n].
        const out = product(reshape(a3, [1, batchA * m, k]), b3);
        out.shape = outShape;
        return out;
      }
      return slicedProducts(backend, a3, b3, aOuter, bOuter, outOuter, outShape, product);
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
  return { kernelName: BatchMatMul, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc };
}

/**
 * One 2-D product C [m, n] = op(A) op(B), computed either directly (materializing each transposed operand)
 * or as C = (op(B)ᵀ op(A)ᵀ)ᵀ (materializing the untransposed operands' transposes and transposing the
 * result), whichever copies fewer elements. Why: the weight gradient Xᵀ·dY of a [T, 512] x [T, 128] pair
 * would transpose the wide [T, 512] side; the swapped form transposes [T, 128] and a [128, 512] result.
 */
function singleProduct(
  a: TensorInfo,
  b: TensorInfo,
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
  ops: {
    reshape: (x: TensorInfo, shape: number[]) => TensorInfo; // temporary view
    transposeTemp: (x: TensorInfo) => TensorInfo; // temporary transposed copy
    product: (x: TensorInfo, y: TensorInfo) => TensorInfo; // untransposed 2-D product, a new tensor
    transposeOut: (x: TensorInfo) => TensorInfo; // transposed copy, a new tensor
    keep: (x: TensorInfo) => TensorInfo; // marks a tensor for disposal when the kernel ends
  },
): TensorInfo {
  const { reshape, transposeTemp, product, transposeOut, keep } = ops;
  const a2 = reshape(a, tA ? [k, m] : [m, k]);
  const b2 = reshape(b, tB ? [n, k] : [k, n]);
  const direct = (tA ? m * k : 0) + (tB ? k * n : 0);
  const swapped = (tA ? 0 : m * k) + (tB ? 0 : k * n) + m * n;
  if (direct <= swapped) return product(tA ? transposeTemp(a2) : a2, tB ? transposeTemp(b2) : b2); // [m, n]
  const ct = keep(product(tB ? b2 : transposeTemp(b2), tA ? a2 : transposeTemp(a2))); // [n, m]
  return transposeOut(ct); // [m, n]
}

/** One fast 2-D product per output batch index, copied into the output. Outer dims broadcast as numpy. */
function slicedProducts(
  backend: BackendWasm,
  a3: TensorInfo, // [batchA, m, k]
  b3: TensorInfo, // [batchB, k, n]
  aOuter: number[],
  bOuter: number[],
  outOuter: number[],
  outShape: number[],
  product: (x: TensorInfo, y: TensorInfo) => TensorInfo,
): TensorInfo {
  const [, m, k] = a3.shape;
  const n = b3.shape[2];
  const batch = util.sizeFromShape(outOuter);
  const out = backend.makeOutput(outShape, 'float32');
  const aSlice = backend.makeOutput([1, m, k], 'float32');
  try {
    for (let i = 0; i < batch; i++) {
      const ia = broadcastIndex(i, outOuter, aOuter);
      const ib = broadcastIndex(i, outOuter, bOuter);
      // A fresh right operand each time: XNNPACK caches its packed weights under the tensor id of b, so a
      // reused buffer would be multiplied with stale weights. Disposing it drops the cached operator.
      const bSlice = backend.makeOutput([1, k, n], 'float32');
      // Views are taken after every allocation: growing the wasm heap detaches older views.
      backend.typedArrayFromHeap(aSlice).set(backend.typedArrayFromHeap(a3).subarray(ia * m * k, (ia + 1) * m * k));
      backend.typedArrayFromHeap(bSlice).set(backend.typedArrayFromHeap(b3).subarray(ib * k * n, (ib + 1) * k * n));
      const r = product(aSlice, bSlice); // [1, m, n]
      backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(r), i * m * n);
      backend.disposeData(r.dataId);
      backend.disposeData(bSlice.dataId);
    }
  } finally {
    backend.disposeData(aSlice.dataId);
  }
  return out;
}

/** Flat index into an operand's outer dims for flat output index `i` (operand dims right-aligned, size-1 dims broadcast). */
export function broadcastIndex(i: number, outOuter: number[], operandOuter: number[]): number {
  let index = 0;
  let stride = 1;
  let rest = i;
  for (let d = outOuter.length - 1, e = operandOuter.length - 1; d >= 0; d--, e--) {
    const coord = rest % outOuter[d];
    rest = Math.floor(rest / outOuter[d]);
    if (e < 0) continue;
    if (operandOuter[e] !== 1) index += coord * stride;
    stride *= operandOuter[e];
  }
  return index;
}

function kernelOf(name: string): KernelFunc {
  const config = getKernel(name, 'wasm');
  if (config == null) throw new Error(`wasm kernel ${name} is not registered: import @tensorflow/tfjs-backend-wasm first`);
  return config.kernelFunc;
}
