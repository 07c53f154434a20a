import { z } from 'zod';
import { DataConfig } from '../data/config.js';
import { EvalConfig } from '../eval/config.js';
import { ModelConfig } from '../models/config.js';
import { TrainConfig } from '../train/config.js';
import { MEMORY_EXAMPLES, parseMemory } from '../train/memory-size.js';

/**
 * The whole config tree. Each stage owns its section's schema (in its own folder); this file only
 * composes them. Every section has defaults, so `{}` is a valid config.
 */
export const RunSection = z.strictObject({
  /** Run folder name under `out_dir`. */
  name: z.string().default('run'),
  out_dir: z.string().default('checkpoints'),
  seed: z.number().int().default(42),
  /** Engine backend: auto tries tensorflow (tfjs-node-gpu, tfjs-node), webgpu on a real GPU, wasm, cpu. */
  backend: z.enum(['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']).default('auto'),
  /**
   * Engine for the forward-only work (encode, rerank, retrieve's queries, teachers score, validation): auto
   * takes ONNX Runtime when the backend is wasm or cpu, the tfjs backend when it is tensorflow or webgpu.
   */
  inference: z.enum(['auto', 'tfjs', 'onnx']).default('auto'),
  /** The training device's memory (e.g. 11GiB), for `train.accumulation_steps: auto`; a bare number is bytes. */
  device_memory: z
    .union([z.number(), z.string()])
    .refine((v) => parseMemory(v) !== null, `expected ${MEMORY_EXAMPLES}`)
    .nullable()
    .default(null),
});

export const Config = z.strictObject({
  run: RunSection.default(RunSection.parse({})),
  data: DataConfig.default(DataConfig.parse({})),
  model: ModelConfig.default(ModelConfig.parse({})),
  train: TrainConfig.default(TrainConfig.parse({})),
  eval: EvalConfig.default(EvalConfig.parse({})),
}).superRefine((c, ctx) => {
  if (c.train.accumulation_steps === 'auto' && c.run.device_memory === null) {
    ctx.addIssue({ code: 'custom', path: ['train', 'accumulation_steps'], message: `auto needs run.device_memory (${MEMORY_EXAMPLES}) to plan for` });
  }
});
export type Config = z.output<typeof Config>;
