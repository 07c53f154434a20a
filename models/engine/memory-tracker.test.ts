import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { trackMemory } from './memory-tracker.js';

const KB4 = 1000 * 4; // a [10, 100] float32 tensor

describe.each(['cpu', 'wasm'] as const)('trackMemory on %s', (backend) => {
  it('counts each buffer once, views and clones included, and keeps the high-water mark', async () => {
    await initBackend(backend, { quiet: true });
    const tracker = trackMemory();
    try {
      expect(tracker.measure).toBe(backend === 'cpu' ? 'cpu-arrays' : 'live-buffers');
      const base = tracker.live();
      tracker.reset();
      const a = tf.ones([10, 100]); // [10, 100]
      expect(tracker.live() - base).toBe(KB4);
      const view = tf.reshape(a, [100, 10]); // shares a's buffer on both backends
      const copy = tf.clone(a); // shares it too
      expect(tracker.live() - base).toBe(KB4);
      const b = tf.add(a, a); // a new buffer
      expect(tracker.live() - base).toBe(2 * KB4);
      tf.dispose([a, view, copy, b]);
      expect(tracker.live() - base).toBe(0);
      expect(tracker.marks().peak - base).toBe(2 * KB4);
    } finally {
      tracker.stop();
    }
  });

  it('splits the high-water mark at the first buffer of the watched size', async () => {
    await initBackend(backend, { quiet: true });
    const tracker = trackMemory({ watchBytes: 3 * KB4 });
    try {
      const base = tracker.live();
      tracker.reset();
      const big = tf.zeros([20, 100]); // 2 KB4, then freed
      big.dispose();
      const watched = tf.zeros([30, 100]); // 3 KB4: from here on is the second regime
      const after = tf.zeros([10, 100]);
      tf.dispose([watched, after]);
      const m = tracker.marks();
      expect(m.beforeWatch - base).toBe(2 * KB4);
      expect(m.fromWatch! - base).toBe(4 * KB4);
      expect(m.peak - base).toBe(4 * KB4);
    } finally {
      tracker.stop();
    }
  });
});

describe('trackMemory, measures that differ', () => {
  it("cpu: a simple slice is a view of its input's array and adds nothing", async () => {
    await initBackend('cpu', { quiet: true });
    const tracker = trackMemory();
    try {
      const base = tracker.live();
      const a = tf.ones([10, 100]);
      const rows = tf.slice(a, [2, 0], [5, 100]); // rows 2..6: a contiguous subarray on cpu
      expect(tracker.live() - base).toBe(KB4);
      a.dispose();
      expect(tracker.live() - base).toBe(KB4); // the view keeps the whole array alive
      rows.dispose();
      expect(tracker.live() - base).toBe(0);
    } finally {
      tracker.stop();
    }
  });

  it("engine bytes (tfjs's numBytes, what webgpu and tensorflow get) count a reshape again", async () => {
    await initBackend('cpu', { quiet: true });
    const tracker = trackMemory({ engineBytes: true });
    try {
      expect(tracker.measure).toBe('engine-bytes');
      const base = tracker.live();
      tracker.reset();
      const a = tf.ones([10, 100]);
      const view = tf.reshape(a, [100, 10]);
      expect(tracker.live() - base).toBe(2 * KB4);
      tf.dispose([a, view]);
      expect(tracker.live() - base).toBe(0);
      expect(tracker.marks().peak - base).toBe(2 * KB4);
    } finally {
      tracker.stop();
    }
  });
});
