import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Identity for wasm that shares the input's memory (one more reference), as the cpu backend does, instead of
 * copying it. Why: tfjs's gradient code calls Identity on whole activations; in a tiny-student training
 * step the stock copy costs about as much as the layer norms. Tensors are immutable, so sharing is safe.
 */
export function wasmIdentityConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return stock.kernelFunc(args);
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return { kernelName: Identity, backendName: 'wasm', kernelFunc };
}
