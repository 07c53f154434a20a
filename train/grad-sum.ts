import * as tf from '@tensorflow/tfjs-core';

/**
 * Sums the gradients of several backward passes (micro-batches) by parameter name. tf.variableGrads keys its
 * result by tfjs variable name; this maps those back to the student's parameter names.
 */
export class GradSum {
  readonly vars: tf.Variable[] = [];
  private readonly names = new Map<string, string>(); // tfjs variable name → parameter name
  private readonly sum = new Map<string, tf.Tensor>();

  constructor(params: Map<string, tf.Variable>) {
    for (const [name, v] of params) {
      this.names.set(v.name, name);
      this.vars.push(v);
    }
  }

  /** Adds one pass's gradients (as tf.variableGrads returns them) and takes ownership of them. */
  add(grads: tf.NamedTensorMap): void {
    for (const [k, g] of Object.entries(grads)) {
      const name = this.names.get(k)!;
      const prev = this.sum.get(name);
      if (!prev) {
        this.sum.set(name, g); // first pass this parameter took part in
        continue;
      }
      this.sum.set(name, tf.add(prev, g));
      tf.dispose([prev, g]);
    }
  }

  /** The sums by parameter name; the caller disposes them. */
  result(): Map<string, tf.Tensor> {
    return this.sum;
  }
}
