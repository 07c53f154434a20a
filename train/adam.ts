import * as tf from '@tensorflow/tfjs-core';

export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
}

/** Adam's state for a checkpoint: the step count and the two moment tensors per parameter name. */
export interface AdamState {
  step: number;
  m: Map<string, tf.Tensor>;
  v: Map<string, tf.Tensor>;
}

/**
 * Adam with torch.optim.Adam's exact arithmetic (Kingma & Ba 2015, as PyTorch implements it):
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g²
 *   p = p - (lr / (1 - b1^t)) · m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * eps is added AFTER the bias-corrected sqrt, which differs from tf.train.adam (eps inside, no per-step
 * bias correction of the denominator) and matters for the tiny-gradient parameters of a fresh student.
 * Hand-written rather than tf.train.adam for that reason and because its state must be exported and
 * restored exactly for bit-identical resume. The learning rate is given per step (schedules live outside).
 */
export class Adam {
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly params: Map<string, tf.Variable>,
    readonly opts: AdamOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  ) {
    for (const [name, p] of params) {
      // Unnamed: tfjs variable names are global, and two optimizers (e.g. in tests) may share parameter names.
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** One update of every parameter that has a gradient (names as in `params`). */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    this.step++;
    const { beta1, beta2, eps } = this.opts;
    // Scalars computed in float64 as torch does on the host, then used as float32 multipliers.
    const bc1 = 1 - beta1 ** this.step;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.step);
    const stepSize = lr / bc1;
    for (const [name, g] of grads) {
      const p = this.params.get(name);
      const m = this.m.get(name);
      const v = this.v.get(name);
      if (!p || !m || !v) throw new Error(`Adam: gradient for unknown parameter '${name}'`);
      tf.tidy(() => update(p, m, v, g, { beta1, beta2, eps, bc2Sqrt, stepSize }));
    }
  }

  /** The state as it is now (the tensors are the live variables: read them before the next apply). */
  state(): AdamState {
    return { step: this.step, m: new Map(this.m), v: new Map(this.v) };
  }

  /** Restores a state written by `state()`; every parameter must have both moments with its shape. */
  load(state: AdamState): void {
    for (const [name, p] of this.params) {
      for (const [kind, from, to] of [['m', state.m, this.m], ['v', state.v, this.v]] as const) {
        const t = from.get(name);
        if (!t) throw new Error(`Adam state: missing ${kind} for '${name}'`);
        if (t.shape.join(',') !== p.shape.join(',')) {
          throw new Error(`Adam state: ${kind} of '${name}' has shape [${t.shape}], parameter has [${p.shape}]`);
        }
        to.get(name)!.assign(t);
      }
    }
    this.step = state.step;
  }

  dispose(): void {
    tf.dispose([...this.m.values(), ...this.v.values()]);
  }
}

/**
 * One parameter's update: the formula above kernel by kernel, as the one expression it replaced computed it
 * (bit-identical), with every intermediate freed as soon as the next one exists and the moments updated in
 * place (m takes b1 m, then b1 m + (1 - b1) g), so at most two full-size temporaries live beside p, m, v and g
 * (the one-expression tidy kept about thirteen until it ended; docs/train.md has the measured cost).
 */
function update(
  p: tf.Variable,
  m: tf.Variable,
  v: tf.Variable,
  g: tf.Tensor,
  c: { beta1: number; beta2: number; eps: number; bc2Sqrt: number; stepSize: number },
): void {
  /** f(x), then x disposed (x is an intermediate of this update). */
  const then = (x: tf.Tensor, f: (x: tf.Tensor) => tf.Tensor) => {
    const y = f(x);
    x.dispose();
    return y;
  };
  const assign = (variable: tf.Variable, value: tf.Tensor) => {
    variable.assign(value);
    value.dispose(); // the variable holds its own reference
  };
  const addTo = (variable: tf.Variable, t: tf.Tensor) => assign(variable, then(t, (x) => tf.add(variable, x)));
  // m = b1 m + (1 - b1) g
  assign(m, tf.mul(m, c.beta1));
  addTo(m, tf.mul(g, 1 - c.beta1));
  // v = b2 v + (1 - b2) g²
  assign(v, tf.mul(v, c.beta2));
  addTo(v, then(tf.mul(g, g), (gg) => tf.mul(gg, 1 - c.beta2)));
  // p = p - stepSize · m / (sqrt(v) / sqrt(bc2) + eps)
  const denom = then(then(tf.sqrt(v), (r) => tf.div(r, c.bc2Sqrt)), (d) => tf.add(d, c.eps));
  const delta = then(then(denom, (d) => tf.div(m, d)), (r) => tf.mul(r, c.stepSize));
  assign(p, then(delta, (d) => tf.sub(p, d)));
}
