import { InputError } from '../../common/errors.js';
import { type ByteSource, DataProblem } from './byte-source.js';

/**
 * A restricted unpickler for PyTorch checkpoints. It interprets the pickle opcodes itself and never runs
 * anything: GLOBAL resolves a name only through `hooks.global` (which allows the few names a weights file
 * uses and refuses every other one by name), REDUCE/NEWOBJ/BUILD only hand allowed values to the hooks,
 * which build plain data (dicts, tensor descriptions). Opcodes that create objects any other way (INST,
 * OBJ, EXT*, PERSID with a string id) are refused as unsupported.
 *
 * Written here rather than taken from npm: the one maintained JS pickle parser (pickleparser) resolves
 * names to JS callables and invokes them for REDUCE/NEWOBJ/BUILD, parses one in-memory buffer and does not
 * report where the pickle ended (the legacy torch.save layout is several pickles back to back in front of
 * raw storage bytes), and gives untyped errors; what a checkpoint needs is ~40 opcodes.
 *
 * Opcodes read: protocol 2 as torch.save writes it (and the Python 2 string opcodes of old legacy files),
 * plus the protocol 3-5 forms of the same values (bytes, short strings, MEMOIZE, FRAME, STACK_GLOBAL).
 * Every length is checked against the bytes that remain before anything is allocated.
 */

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A value a hook built (a storage type, a tensor description, a dtype): opaque to the unpickler. */
export interface PyObject {
  readonly pyType: string;
}

export type PyKey = string | number | bigint | boolean | null;
export type PyDict = Map<PyKey, PyValue>;
export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyObject;

export interface PickleHooks {
  /** GLOBAL / STACK_GLOBAL: the value standing for `module.name`; throws DataProblem to refuse it. */
  global(module: string, name: string): PyValue;
  /** REDUCE and NEWOBJ: `callable(*args)` for a value `global` returned; throws DataProblem to refuse. */
  call(callable: PyValue, args: PyValue[]): PyValue;
  /** BUILD: applies `state` to `obj`; throws DataProblem to refuse. */
  build(obj: PyValue, state: PyValue): void;
  /** BINPERSID: the object a persistent id stands for (torch: a storage). */
  persistentLoad(pid: PyValue): PyValue;
}

/** Names the data in errors: the checkpoint file and the pickle within it ("archive/data.pkl"). */
export interface PickleWhere {
  file: string;
  label: string;
}

/** The longest integer LONG1/LONG4 may encode (bytes); checkpoint pickles hold small ints and a 10-byte magic. */
const MAX_LONG_BYTES = 64;
/** The longest str or bytes value read: names and locations are short; a longer one is not a weights pickle. */
const MAX_STRING_BYTES = 16 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Short description of a value for error messages (never the whole value). */
export function describe(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'a bool';
  if (typeof v === 'number' || typeof v === 'bigint') return `the int ${v}`;
  if (typeof v === 'string') return `the str ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof PyTuple) return `a tuple of ${v.items.length}`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  return v.pyType;
}

function isKey(v: PyValue): v is PyKey {
  return v === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof v);
}

/** Reads one pickle (up to and including STOP) from `src` and returns its value. */
export function unpickle(src: ByteSource, hooks: PickleHooks, where: PickleWhere): PyValue {
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  let at = src.pos;
  let op = 0;

  const pop = (): PyValue => {
    if (stack.length === 0) throw new DataProblem('a value on the pickle stack', 'an empty stack');
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw new DataProblem('a value on the pickle stack', 'an empty stack');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const outer = marks.pop();
    if (outer === undefined) throw new DataProblem('a MARK before this opcode', 'none');
    stack = outer;
    return items;
  };
  const u32 = (): number => {
    const b = src.take(4);
    return (b[0] | (b[1] << 8) | (b[2] << 16)) + b[3] * 0x1000000;
  };
  const i32 = (): number => {
    const b = src.take(4);
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
  };
  const sized = (n: number | bigint): Uint8Array => {
    if (BigInt(n) > MAX_STRING_BYTES) throw new DataProblem(`a str or bytes value of at most ${MAX_STRING_BYTES} bytes`, `${n} bytes`);
    if (BigInt(n) > BigInt(src.remaining)) throw new DataProblem(`${n} bytes of string data`, `only ${src.remaining} left (truncated?)`);
    return src.take(Number(n));
  };
  const text = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      throw new DataProblem('UTF-8 text', 'invalid bytes');
    }
  };
  const long = (b: Uint8Array): number | bigint => {
    if (b.byteLength > MAX_LONG_BYTES) throw new DataProblem(`an int of at most ${MAX_LONG_BYTES} bytes`, `${b.byteLength} bytes`);
    if (b.byteLength === 0) return 0;
    let x = 0n;
    for (let i = b.byteLength - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
    if (b[b.byteLength - 1] & 0x80) x -= 1n << BigInt(8 * b.byteLength); // two's complement
    return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) throw new DataProblem(`memo entry ${i} (stored by an earlier PUT)`, 'no such entry');
    return memo.get(i)!;
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (!(target instanceof Map)) throw new DataProblem('a dict to set items on', describe(target));
    if (items.length % 2) throw new DataProblem('key/value pairs', `${items.length} values`);
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (!isKey(k)) throw new DataProblem('a str or int dict key', describe(k));
      target.set(k, items[i + 1]);
    }
  };
  const appendTo = (target: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(target)) throw new DataProblem('a list to append to', describe(target));
    for (const x of items) target.push(x);
  };
  try {
    for (;;) {
      at = src.pos;
      op = src.byte();
      switch (op) {
        case 0x80: { // PROTO
          const p = src.byte();
          if (p > 5) throw new DataProblem('pickle protocol 0 to 5', `protocol ${p}`);
          break;
        }
        case 0x95: src.take(8); break; // FRAME: a length hint for buffered readers
        case 0x2e: { // STOP
          const v = pop();
          return v;
        }
        case 0x28: marks.push(stack); stack = []; break; // MARK
        case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
        case 0x5d: stack.push([]); break; // EMPTY_LIST
        case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
        case 0x74: { const items = popMark(); stack.push(new PyTuple(items)); break; } // TUPLE
        case 0x85: stack.push(new PyTuple([pop()])); break; // TUPLE1
        case 0x86: { const b = pop(); const a = pop(); stack.push(new PyTuple([a, b])); break; } // TUPLE2
        case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(new PyTuple([a, b, c])); break; } // TUPLE3
        case 0x4e: stack.push(null); break; // NONE
        case 0x88: stack.push(true); break; // NEWTRUE
        case 0x89: stack.push(false); break; // NEWFALSE
        case 0x4a: stack.push(i32()); break; // BININT
        case 0x4b: stack.push(src.byte()); break; // BININT1
        case 0x4d: { const b = src.take(2); stack.push(b[0] | (b[1] << 8)); break; } // BININT2
        case 0x8a: { const n = src.byte(); stack.push(long(sized(n))); break; } // LONG1
        case 0x8b: { const n = i32(); if (n < 0) throw new DataProblem('a non-negative LONG4 length', String(n)); stack.push(long(sized(n))); break; } // LONG4
        case 0x47: { // BINFLOAT: big-endian double
          const b = src.take(8);
          stack.push(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false));
          break;
        }
        case 0x58: stack.push(text(sized(u32()))); break; // BINUNICODE
        case 0x8c: stack.push(text(sized(src.byte()))); break; // SHORT_BINUNICODE
        case 0x8d: { // BINUNICODE8
          const b = src.take(8);
          stack.push(text(sized(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true))));
          break;
        }
        // Python 2 str (legacy files written by Python 2): torch.load decodes them as UTF-8 text.
        case 0x55: stack.push(text(sized(src.byte()))); break; // SHORT_BINSTRING
        case 0x54: { const n = i32(); if (n < 0) throw new DataProblem('a non-negative BINSTRING length', String(n)); stack.push(text(sized(n))); break; } // BINSTRING
        case 0x43: stack.push(new Uint8Array(sized(src.byte()))); break; // SHORT_BINBYTES (a copy: the source buffer is reused)
        case 0x42: stack.push(new Uint8Array(sized(u32()))); break; // BINBYTES
        case 0x71: memo.set(src.byte(), top()); break; // BINPUT
        case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
        case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
        case 0x68: stack.push(memoGet(src.byte())); break; // BINGET
        case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
        case 0x61: { const x = pop(); appendTo(top(), [x]); break; } // APPEND
        case 0x65: { const items = popMark(); appendTo(top(), items); break; } // APPENDS
        case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
        case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
        case 0x63: { // GLOBAL "module\nname\n"
          const module = text(src.line());
          const name = text(src.line());
          stack.push(hooks.global(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw new DataProblem('module and name strings for STACK_GLOBAL', `${describe(module)}, ${describe(name)}`);
          stack.push(hooks.global(module, name));
          break;
        }
        case 0x52: { // REDUCE: callable(*args)
          const args = pop();
          const fn = pop();
          if (!(args instanceof PyTuple)) throw new DataProblem('an argument tuple for REDUCE', describe(args));
          stack.push(hooks.call(fn, args.items));
          break;
        }
        case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
          const args = pop();
          const cls = pop();
          if (!(args instanceof PyTuple)) throw new DataProblem('an argument tuple for NEWOBJ', describe(args));
          stack.push(hooks.call(cls, args.items));
          break;
        }
        case 0x62: { const state = pop(); hooks.build(top(), state); break; } // BUILD
        case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
        default:
          throw new DataProblem('a pickle opcode this reader supports', `opcode 0x${op.toString(16).padStart(2, '0')}${op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ''}`);
      }
    }
  } catch (e) {
    if (e instanceof DataProblem) {
      throw new InputError(where.file, undefined, e.expected, `${e.got} (${where.label}, opcode at byte ${at})`);
    }
    throw e;
  }
}
