import { z } from 'zod';

/** The `eval` section of the config tree (see config/schema.ts). */
export const EvalConfig = z.strictObject({});
export type EvalConfig = z.output<typeof EvalConfig>;
