import { z } from 'zod';

/** The `train` section of the config tree (see config/schema.ts). */
export const TrainConfig = z.strictObject({});
export type TrainConfig = z.output<typeof TrainConfig>;
