/**
 * The tolerance rule of `margin-mse model parity` for BERT_Dot (docs/models.md, "Tolerances"): how far a
 * float32 implementation may honestly be from a float32 PyTorch reference, scaled to what each quantity is
 * made of, so a trained checkpoint passes on every backend and a real mistake does not.
 *
 * - Outputs (CLS vectors, scores, loss) and parameters: TOL_OUTPUT relative to the quantity's largest value.
 * - Gradients: TOL_GRAD relative to max(the quantity's largest value, GRAD_FLOOR × global gradient norm).
 *   A bias gradient is a sum over every position of terms that largely cancel once a model is trained, so its
 *   float32 error follows the size of those terms (which the global norm tracks), not the small sum: on
 *   parity/goldens/distilbert-trained PyTorch's own float32 is off its float64 by up to 6e-6 × the global
 *   norm there, tfjs by up to 2.3e-5 × (webgpu; 9e-6 × cpu and wasm); the floor allows 1e-4 ×.
 * - Parameters after the one Adam step: each value may also differ by lr × the change in Adam's first step
 *   that a gradient within its tolerance can cause (`adamStepSlack`): that step is lr · g / (|g| + eps), flat
 *   for large |g| and steep near 0, so a gradient that is float noise moves the parameter by up to ±lr.
 */
export const TOL_OUTPUT = 1e-4;
export const TOL_GRAD = 1e-3;
export const GRAD_FLOOR = 0.1;

/** The value below which gradient differences are measured against instead of the gradient itself. */
export const gradFloor = (globalNorm: number): number => GRAD_FLOOR * globalNorm;

/**
 * How far Adam's first step from zero moments (torch.optim.Adam, bias-corrected: m̂ = g, v̂ = g², so the
 * step is lr · g / (|g| + eps)) can move, in units of lr, when the gradient `g` is off by up to ±`slack`.
 * The step is monotone in g, so the extremes are at g ± slack.
 */
export function adamStepSlack(g: number, slack: number, eps: number): number {
  const dir = (x: number) => x / (Math.abs(x) + eps);
  const here = dir(g);
  return Math.max(Math.abs(dir(g + slack) - here), Math.abs(dir(g - slack) - here));
}
