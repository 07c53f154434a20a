import { z } from 'zod';

/** The `models` section of the config tree (see config/schema.ts). */
export const ModelConfig = z.strictObject({});
export type ModelConfig = z.output<typeof ModelConfig>;
