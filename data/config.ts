import { z } from 'zod';

/** The `data` section of the config tree (see config/schema.ts). */
export const DataConfig = z.strictObject({});
export type DataConfig = z.output<typeof DataConfig>;
