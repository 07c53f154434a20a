import { DataProblem } from './byte-source.js';
import { describe, type PickleHooks, type PyObject, PyTuple, type PyValue } from './pickle.js';

/**
 * What a torch.save pickle may contain, and how its few callables are interpreted as data: the globals
 * PyTorch's own `weights_only=True` loader (torch/_weights_only_unpickler.py) allows for plain tensors.
 * Everything else (os.system, builtins.eval, any class of the saving program, quantized or sparse tensor
 * rebuilds) is refused by name before anything is built.
 */

/** Dtypes by the safetensors names the rest of the project uses (models/weights/safetensors.ts). */
export type TorchDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL' | 'C64' | 'C128';

export const ELEMENT_BYTES: Record<TorchDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, C64: 8, C128: 16 };

/** torch.<Name>Storage, the typed storage classes persistent ids name (all of PyTorch's non-quantized ones). */
const STORAGE_CLASSES: Record<string, TorchDtype> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64', LongStorage: 'I64', IntStorage: 'I32',
  ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL', ComplexFloatStorage: 'C64', ComplexDoubleStorage: 'C128',
};

/** torch.<dtype> globals (the dtype argument of _rebuild_tensor_v3). */
const DTYPES: Record<string, TorchDtype> = {
  float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8',
  bool: 'BOOL', complex64: 'C64', complex128: 'C128',
};

/** A storage class (typed, or torch.UntypedStorage as bytes). */
export class StorageType implements PyObject {
  readonly pyType: string;
  constructor(readonly name: string, readonly dtype: TorchDtype) {
    this.pyType = `the storage class ${name}`;
  }
}

export class DtypeValue implements PyObject {
  readonly pyType: string;
  constructor(readonly dtype: TorchDtype) {
    this.pyType = `the dtype ${dtype}`;
  }
}

/** An allowed callable or class, by its full dotted name. */
export class TorchGlobal implements PyObject {
  readonly pyType: string;
  constructor(readonly name: string) {
    this.pyType = `the global ${name}`;
  }
}

/** Bytes of one storage record (`key`), seen through a typed storage or a legacy storage view. */
export class StorageRef implements PyObject {
  readonly pyType = 'a storage';
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    /** Where this (view of the) storage starts in the record, in bytes. */
    readonly byteOffset: number,
    readonly nbytes: number,
  ) {}
}

/** A tensor as torch rebuilds it: `dtype` elements of `storage` at `offset + Σ index·stride` (in elements). */
export class TensorRef implements PyObject {
  readonly pyType = 'a tensor';
  constructor(
    readonly storage: StorageRef,
    readonly dtype: TorchDtype,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

const REBUILD_TENSOR = ['torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_tensor_v3'];
const REBUILD_PARAMETER = ['torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state'];
const TENSOR_TYPES = ['torch.Tensor', 'torch.nn.parameter.Parameter'];
const CALLABLES = new Set([
  'collections.OrderedDict', ...REBUILD_TENSOR, ...REBUILD_PARAMETER, 'torch._tensor._rebuild_from_type_v2', ...TENSOR_TYPES, 'torch.device',
]);

/** What refused globals are told they are not. */
const ALLOWED_GLOBALS = 'only the globals of a weights file (collections.OrderedDict, torch._utils._rebuild_tensor*/_rebuild_parameter*, torch.*Storage, torch dtypes, torch.device)';

/** The value of an allowed global, or undefined. Python 2 pickles name the same modules. */
function torchGlobal(module: string, name: string): PyValue | undefined {
  const full = `${module}.${name}`;
  if (module === 'torch' && name in STORAGE_CLASSES) return new StorageType(full, STORAGE_CLASSES[name]);
  if ((module === 'torch' || module === 'torch.storage') && name === 'UntypedStorage') return new StorageType(full, 'U8');
  if (module === 'torch' && name in DTYPES) return new DtypeValue(DTYPES[name]);
  if (CALLABLES.has(full)) return new TorchGlobal(full);
  return undefined;
}

const int = (v: PyValue, what: string): number => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new DataProblem(`${what} as a non-negative int`, describe(v));
  return v;
};
const ints = (v: PyValue, what: string): number[] => {
  if (!(v instanceof PyTuple)) throw new DataProblem(`${what} as a tuple of ints`, describe(v));
  return v.items.map((x) => int(x, what));
};

/** _rebuild_tensor(storage, offset, size, stride), and v2/v3 with further arguments that do not change the data. */
function rebuildTensor(fn: string, args: PyValue[]): TensorRef {
  const want = fn.endsWith('_v3') ? 7 : fn.endsWith('_v2') ? 6 : 4;
  if (args.length < want) throw new DataProblem(`${want} or more arguments to ${fn}`, `${args.length}`);
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new DataProblem(`a storage as the first argument of ${fn}`, describe(storage));
  let dtype = storage.dtype;
  if (fn.endsWith('_v3')) {
    const d = args[6];
    if (!(d instanceof DtypeValue)) throw new DataProblem(`a dtype as the 7th argument of ${fn}`, describe(d));
    dtype = d.dtype;
  }
  const sizes = ints(size, 'the tensor size');
  const strides = ints(stride, 'the tensor stride');
  if (sizes.length !== strides.length) throw new DataProblem(`as many strides as sizes (${sizes.length})`, `${strides.length}`);
  return new TensorRef(storage, dtype, int(offset, 'the storage offset'), sizes, strides);
}

function call(fn: PyValue, args: PyValue[]): PyValue {
  if (!(fn instanceof TorchGlobal)) throw new DataProblem('a callable of a weights file', describe(fn));
  const name = fn.name;
  if (name === 'collections.OrderedDict') {
    // Protocol 2 pickles OrderedDict() empty and adds the items with SETITEMS.
    if (args.length !== 0) throw new DataProblem('OrderedDict() without arguments', `${args.length} argument(s)`);
    return new Map();
  }
  if (REBUILD_TENSOR.includes(name)) return rebuildTensor(name, args);
  if (REBUILD_PARAMETER.includes(name) || name === 'torch.nn.parameter.Parameter') {
    // A Parameter is its data tensor (requires_grad, hooks and Python state do not change the values).
    if (!(args[0] instanceof TensorRef)) throw new DataProblem(`a tensor as the first argument of ${name}`, describe(args[0]));
    return args[0];
  }
  if (name === 'torch._tensor._rebuild_from_type_v2') {
    // (func, type, args, state): a tensor subclass or a tensor with Python attributes; only plain tensors here.
    const [func, type, inner] = args;
    if (!(type instanceof TorchGlobal) || !TENSOR_TYPES.includes(type.name)) throw new DataProblem(`torch.Tensor or Parameter as the type in ${name}`, describe(type));
    if (!(func instanceof TorchGlobal) || ![...REBUILD_TENSOR, ...REBUILD_PARAMETER].includes(func.name)) throw new DataProblem(`a tensor rebuild function in ${name}`, describe(func));
    if (!(inner instanceof PyTuple)) throw new DataProblem(`an argument tuple in ${name}`, describe(inner));
    return call(func, inner.items);
  }
  if (name === 'torch.device') {
    const [type, index] = args;
    if (typeof type !== 'string') throw new DataProblem('a device name for torch.device', describe(type));
    return index === undefined ? type : `${type}:${String(index)}`;
  }
  throw new DataProblem('a callable of a weights file', `a call of ${name}`);
}

/** Hooks for a torch.save object pickle; `persistentLoad` is the layout's (zip and legacy ids differ). */
export function torchHooks(persistentLoad: (pid: PyTuple) => StorageRef): PickleHooks {
  return {
    global(module, name) {
      const v = torchGlobal(module, name);
      if (v === undefined) throw new DataProblem(ALLOWED_GLOBALS, `the global ${module}.${name}, refused (nothing was run)`);
      return v;
    },
    call,
    build(obj, state) {
      // OrderedDict state is its attributes (a state_dict's `_metadata` of module versions): not weights.
      if (obj instanceof Map && (state === null || state instanceof Map)) return;
      throw new DataProblem('BUILD only on an OrderedDict', `BUILD on ${describe(obj)} with ${describe(state)}`);
    },
    persistentLoad(pid) {
      if (!(pid instanceof PyTuple) || pid.items.length === 0) throw new DataProblem("a persistent id ('storage', …)", describe(pid));
      const kind = pid.items[0];
      const text = kind instanceof Uint8Array ? new TextDecoder().decode(kind) : kind;
      if (text !== 'storage') {
        const got = text === 'module' ? 'a pickled nn.Module (torch.save(model)); save model.state_dict() instead' : describe(kind);
        throw new DataProblem("a persistent id ('storage', …)", got);
      }
      return persistentLoad(pid);
    },
  };
}

/** Hooks for the small header pickles of the legacy layout: plain values only. */
export const plainHooks: PickleHooks = {
  global(module, name) {
    throw new DataProblem('plain values only', `the global ${module}.${name}, refused (nothing was run)`);
  },
  call(fn) {
    throw new DataProblem('plain values only', `a call of ${describe(fn)}`);
  },
  build(obj) {
    throw new DataProblem('plain values only', `BUILD on ${describe(obj)}`);
  },
  persistentLoad(pid) {
    throw new DataProblem('plain values only', `a persistent id ${describe(pid)}`);
  },
};

/** The storage type, key and element count of a persistent id, checked. */
export function storageId(pid: PyTuple, arity: number): { type: StorageType; key: string; numel: number; rest: PyValue[] } {
  if (pid.items.length !== arity) throw new DataProblem(`a storage persistent id of ${arity} fields`, describe(pid));
  const [, type, key, , numel, ...rest] = pid.items;
  if (!(type instanceof StorageType)) throw new DataProblem('a storage class in the persistent id', describe(type));
  if (typeof key !== 'string') throw new DataProblem('a str storage key in the persistent id', describe(key));
  return { type, key, numel: int(numel, `the size of storage '${key}'`), rest };
}
