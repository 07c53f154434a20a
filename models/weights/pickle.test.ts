import { describe, expect, it } from 'vitest';
import { BufferSource } from './byte-source.js';
import { PyTuple, unpickle, type PyValue } from './pickle.js';
import { pickle, PickleWriter } from './testing.js';
import { plainHooks, StorageRef, TensorRef, torchHooks } from './torch-pickle.js';

const where = { file: 'm.bin', label: 'data.pkl' };
const plain = (bytes: Uint8Array): PyValue => unpickle(new BufferSource(bytes), plainHooks, where);
const storage = new StorageRef('0', 'F32', 0, 24);
const torch = (bytes: Uint8Array): PyValue => unpickle(new BufferSource(bytes), torchHooks(() => storage), where);

describe('unpickle', () => {
  it('reads the values a checkpoint pickle holds, with memo references', () => {
    // Python: pickle.dumps({'a': (1, -2, 70000, 1.5, None, True), 'b': [b'\x01', 'é'], 'c': <same tuple>}, 2)
    const bytes = pickle((w) =>
      w.dict().mark()
        .str('a').mark().int(1).int(-2).int(70000).raw(0x47, ...Buffer.from('3ff8000000000000', 'hex')).none().bool(true).tuple().put(0)
        .str('b').list().mark().raw(0x43, 1, 1).str('é').appends()
        .str('c').get(0)
        .setitems());
    const v = plain(bytes) as Map<string, PyValue>;
    expect([...v.keys()]).toEqual(['a', 'b', 'c']);
    expect((v.get('a') as PyTuple).items).toEqual([1, -2, 70000, 1.5, null, true]);
    expect(v.get('b')).toEqual([new Uint8Array([1]), 'é']);
    expect(v.get('c')).toBe(v.get('a'));
  });

  it('reads LONG1 ints beyond 2^53 as bigint (the legacy magic number) and negative ones', () => {
    expect(plain(pickle((w) => w.long(0x1950a86a20f9469cfc6cn)))).toBe(0x1950a86a20f9469cfc6cn);
    expect(plain(pickle((w) => w.long(-300n)))).toBe(-300);
    expect(plain(pickle((w) => w.long(-(2n ** 70n))))).toBe(-(2n ** 70n));
  });

  it('stops at STOP and leaves the source there (pickles back to back)', () => {
    const two = Buffer.concat([pickle((w) => w.int(7)), pickle((w) => w.str('x'))]);
    const src = new BufferSource(two);
    expect(unpickle(src, plainHooks, where)).toBe(7);
    expect(src.pos).toBe(5);
    expect(unpickle(src, plainHooks, where)).toBe('x');
  });

  it('refuses a global by name at GLOBAL, before REDUCE could call it', () => {
    // What the malicious golden holds: {'x': posix.system('echo …')}.
    const bad = pickle((w) => w.dict().str('x').call('posix', 'system', (a) => a.str('touch /tmp/pwned')).raw(0x73));
    expect(() => torch(bad)).toThrow(/^m\.bin: expected only the globals of a weights file .* got the global posix\.system, refused \(nothing was run\) \(data\.pkl, opcode at byte 9\)$/);
    expect(() => torch(pickle((w) => w.call('builtins', 'eval', (a) => a.str('1'))))).toThrow(/the global builtins\.eval, refused/);
    // STACK_GLOBAL (protocol 4) takes the names from the stack: the same check.
    const stackGlobal = new PickleWriter().proto(4).raw(0x8c, 2, ...Buffer.from('os'), 0x8c, 6, ...Buffer.from('system'), 0x93).stop().bytes();
    expect(() => torch(stackGlobal)).toThrow(/the global os\.system, refused/);
    // The header pickles of the legacy layout allow no global at all.
    expect(() => plain(pickle((w) => w.global('collections', 'OrderedDict')))).toThrow(/expected plain values only, got the global collections\.OrderedDict/);
  });

  it('builds tensors only through the allowed rebuild functions', () => {
    const bytes = pickle((w) => w.stateDict([['w', (v) => v.tensor({ storage: 'FloatStorage', key: '0', numel: 6, offset: 1, size: [2, 2], stride: [1, 2] })]]));
    const t = (torch(bytes) as Map<string, PyValue>).get('w') as TensorRef;
    expect(t).toBeInstanceOf(TensorRef);
    expect([t.storage, t.dtype, t.offset, t.size, t.stride]).toEqual([storage, 'F32', 1, [2, 2], [1, 2]]);
    // torch.Tensor is allowed as a type name, not as something to call.
    expect(() => torch(pickle((w) => w.call('torch', 'Tensor', () => {})))).toThrow(/expected a callable of a weights file, got a call of torch\.Tensor/);
    // BUILD is only for an OrderedDict's attributes.
    expect(() => torch(pickle((w) => w.list().dict().build()))).toThrow(/expected BUILD only on an OrderedDict, got BUILD on a list of 0/);
  });

  it('names malformed data: unknown opcode, truncation, bad lengths, stack and memo errors', () => {
    expect(() => plain(Buffer.from([0x80, 2, 0x69, 0x2e]))).toThrow(/expected a pickle opcode this reader supports, got opcode 0x69 \('i'\) \(data\.pkl, opcode at byte 2\)/);
    expect(() => plain(Buffer.from([0x80, 2, 0x4b]))).toThrow(/expected 1 more byte\(s\) at byte 3, got the end of the data \(truncated\?\)/);
    expect(() => plain(Buffer.from([0x80, 2, 0x4e]))).toThrow(/expected 1 more byte\(s\) at byte 3/); // no STOP
    expect(() => plain(Buffer.from([0x58, 0xff, 0xff, 0xff, 0x00, 0x41, 0x2e]))).toThrow(/expected 16777215 bytes of string data, got only 2 left/);
    expect(() => plain(Buffer.from([0x58, 0xff, 0xff, 0xff, 0x7f, 0x41, 0x2e]))).toThrow(/expected a str or bytes value of at most 16777216 bytes, got 2147483647 bytes/);
    expect(() => plain(Buffer.from([0x80, 2, 0x2e]))).toThrow(/expected a value on the pickle stack, got an empty stack/);
    expect(() => plain(Buffer.from([0x80, 2, 0x74, 0x2e]))).toThrow(/expected a MARK before this opcode/);
    expect(() => plain(Buffer.from([0x80, 2, 0x68, 9, 0x2e]))).toThrow(/expected memo entry 9/);
    expect(() => plain(pickle((w) => w.list().int(1).int(2).raw(0x73)))).toThrow(/expected a dict to set items on, got a list of 0/);
    expect(() => plain(Buffer.from([0x80, 9, 0x2e]))).toThrow(/expected pickle protocol 0 to 5, got protocol 9/);
    expect(() => plain(Buffer.from([0x8a, 100, ...new Array(100).fill(1), 0x2e]))).toThrow(/expected an int of at most 64 bytes, got 100 bytes/);
    expect(() => plain(Buffer.from([0x58, 2, 0, 0, 0, 0xc3, 0x28, 0x2e]))).toThrow(/expected UTF-8 text, got invalid bytes/);
  });
});
