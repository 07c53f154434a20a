import { register } from 'node:module';
import { getGradient } from '@tensorflow/tfjs-core';

/**
 * Registers tfjs's gradient functions, which tfjs-core alone does not (the @tensorflow/tfjs union package
 * does, and it is not a dependency here). They exist only as tfjs-core's unbundled ES modules,
 * dist/register_all_gradients.js, whose relative imports have no file extension ('../gradients', a file that
 * sits beside a folder of the same name), which Node's ES loader refuses. A resolve hook scoped to
 * tfjs-core's dist folder tries `<specifier>.js` first. The gradients then register in tfjs's global registry
 * and run on the one global engine, whichever copy of tfjs-core the caller imported. Idempotent.
 */
export async function registerGradients(): Promise<void> {
  if (getGradient('Sum') != null) return;
  register(`data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`);
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
}

const RESOLVE_HOOK = `
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && !specifier.endsWith('.js') && context.parentURL?.includes('/@tensorflow/tfjs-core/dist/')) {
    try { return await next(specifier + '.js', context); } catch { /* not a file: resolve as given */ }
  }
  return next(specifier, context);
}`;
