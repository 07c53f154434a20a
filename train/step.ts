import * as tf from '@tensorflow/tfjs-core';
import type { TripleBatch } from '../data/batch.js';
import type { LossFn } from './losses.js';
import type { Student } from './student.js';

/** Rows [start, end) of a batch, keeping its padded lengths (so each row computes exactly as in the whole). */
function sliceBatch(b: TripleBatch, start: number, end: number): TripleBatch {
  const rows = <T extends Int32Array | Float32Array>(a: T, len: number) => a.subarray(start * len, end * len) as T;
  return {
    size: end - start,
    qLen: b.qLen,
    qIds: rows(b.qIds, b.qLen),
    qMask: rows(b.qMask, b.qLen),
    pLen: b.pLen,
    posIds: rows(b.posIds, b.pLen),
    posMask: rows(b.posMask, b.pLen),
    nLen: b.nLen,
    negIds: rows(b.negIds, b.nLen),
    negMask: rows(b.negMask, b.nLen),
    teacherPos: rows(b.teacherPos, 1),
    teacherNeg: rows(b.teacherNeg, 1),
    hasTeacher: b.hasTeacher,
  };
}

/**
 * Loss and gradients of one batch, computed over `micro` micro-batches. Each micro-batch's mean loss is
 * weighted by its share of the rows, so the summed gradients equal those of the whole batch's mean loss
 * (up to float rounding), while only one micro-batch's activations are alive at a time.
 * Resolves to the loss on the host and gradients by parameter name (the caller disposes them).
 */
export async function batchGradients(
  student: Student,
  loss: LossFn,
  batch: TripleBatch,
  micro: number,
): Promise<{ loss: number; grads: Map<string, tf.Tensor> }> {
  const names = new Map<string, string>(); // tfjs variable name → parameter name
  const vars: tf.Variable[] = [];
  for (const [name, v] of student.params) {
    names.set(v.name, name);
    vars.push(v);
  }
  const parts = Math.min(micro, batch.size);
  let total = 0;
  let acc: Map<string, tf.Tensor> | undefined;
  for (let i = 0; i < parts; i++) {
    const start = Math.floor((i * batch.size) / parts);
    const end = Math.floor(((i + 1) * batch.size) / parts);
    const mb = parts === 1 ? batch : sliceBatch(batch, start, end);
    const share = mb.size / batch.size;
    const { value, grads } = tf.variableGrads(() => {
      const { sPos, sNeg } = student.scores(mb); // [mb]
      const tPos = tf.tensor1d(mb.teacherPos); // [mb]
      const tNeg = tf.tensor1d(mb.teacherNeg); // [mb]
      const l = loss(sPos, sNeg, tPos, tNeg);
      return parts === 1 ? l : tf.mul(l, share);
    }, vars);
    total += (await value.data())[0]; // asynchronous: webgpu cannot read synchronously in Node
    value.dispose();
    if (!acc) {
      acc = new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g]));
    } else {
      for (const [k, g] of Object.entries(grads)) {
        const name = names.get(k)!;
        const prev = acc.get(name);
        if (!prev) {
          acc.set(name, g); // the parameter took no part in the earlier micro-batches
          continue;
        }
        acc.set(name, tf.add(prev, g));
        tf.dispose([prev, g]);
      }
    }
  }
  return { loss: total, grads: acc ?? new Map() };
}
