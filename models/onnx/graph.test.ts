import { describe, expect, it } from 'vitest';
import { createOnnxSession } from '../engine/onnx-runtime.js';
import { GraphBuilder } from './graph.js';

/** The builder's protobuf (attributes of each kind, int64 scalars and vectors, dynamic axes) as ONNX Runtime reads it. */
describe('GraphBuilder', () => {
  it('writes a model ONNX Runtime runs with hand-computed results', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['batch', 3]);
    const idx = g.input('idx', 'int64', ['batch']);
    // LayerNormalization (FLOAT epsilon, INT axis) with gamma 2, beta 1: rows [1,2,3] → 1 + 2·(-1.2247, 0, 1.2247).
    const ln = g.node('LayerNormalization', [x, g.float('gamma', [3], Float32Array.of(2, 2, 2)), g.float('beta', [3], Float32Array.of(1, 1, 1))], { axis: -1, epsilon: { float: 0 } }, 'ln');
    // Transpose (INTS perm) then Gather (INT axis) of row 0 with an int64 scalar index: the first column.
    g.node('Gather', [g.node('Transpose', [x], { perm: [1, 0] }), g.int64('zero', [0], true)], { axis: 0 }, 'first');
    g.node('Gather', [g.float('table', [2, 2], Float32Array.of(10, 11, 20, 21)), idx], {}, 'rows'); // [batch, 2]
    g.output('ln', 'float32', ['batch', 3]);
    g.output('first', 'float32', ['batch']);
    g.output('rows', 'float32', ['batch', 2]);
    const onnx = await createOnnxSession(g.toBytes({ graphName: 't', metadata: { kind: 'test' } }), { threads: 1, provider: 'cpu' });
    try {
      const { Tensor } = onnx.ort;
      const out = await onnx.session.run({
        x: new Tensor('float32', Float32Array.of(1, 2, 3, 5, 5, 8), [2, 3]),
        idx: new Tensor('int64', BigInt64Array.of(1n, 0n), [2]),
      });
      const s = Math.sqrt(1.5); // (x - mean) / std of [1, 2, 3] is [-s, 0, s]
      const ln = Array.from(out.ln.data as Float32Array);
      [1 - 2 * s, 1, 1 + 2 * s, 1 - 2 * Math.SQRT1_2, 1 - 2 * Math.SQRT1_2, 1 + 4 * Math.SQRT1_2].forEach((v, i) => expect(ln[i]).toBeCloseTo(v, 5));
      expect(Array.from(out.first.data as Float32Array)).toEqual([1, 5]);
      expect(Array.from(out.rows.data as Float32Array)).toEqual([20, 21, 10, 11]);
      expect(onnx.session.inputMetadata.map((m) => (m.isTensor ? m.shape : null))).toEqual([['batch', 3], ['batch']]);
    } finally {
      await onnx.release();
    }
  });

  it('refuses dangling inputs, taken names, wrong sizes and a graph without outputs', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2]);
    expect(() => g.node('Add', [x, 'nothing'])).toThrow("Add reads 'nothing', which nothing defines");
    expect(() => g.input('x', 'float32', [2])).toThrow("the name 'x' is taken");
    expect(() => g.float('w', [2, 2], new Float32Array(3))).toThrow("initializer 'w' of shape [2,2] needs 4 values, got 3");
    expect(() => g.output('y', 'float32', [2])).toThrow("no value 'y'");
    expect(() => g.toBytes({ graphName: 't' })).toThrow('no outputs');
    // Node names chosen by the builder never collide with each other.
    expect(g.node('Neg', [x])).not.toBe(g.node('Neg', [x]));
  });
});
