import { ConfigError } from '../common/config.js';
import { DISTILBERT_BASE } from '../models/distilbert.js';
import { readDistilBertConfig } from '../models/weights/hf.js';
import { lossTerms, termsNeed } from '../train/loss-terms.js';
import type { ModelSizes } from '../train/memory-probe.js';
import { choiceLine, planMemory, type MemoryPlan, type PlanInput } from '../train/memory-plan.js';
import { MEMORY_EXAMPLES, parseMemory } from '../train/memory-size.js';
import type { Config } from './config.js';

const SIZE_FIELDS = ['vocab_size', 'max_position_embeddings', 'dim', 'n_layers', 'n_heads', 'hidden_dim'] as const;

/**
 * The student's sizes without building it: a checkpoint's or model.init's config.json, else the model
 * section's size fields over distilbert-base's (as train/bert-dot-student.ts's modelFromConfig builds it).
 */
async function modelSizes(config: Config, checkpointDir?: string): Promise<ModelSizes> {
  const m = config.model as Record<string, unknown>;
  const folder = checkpointDir ?? (typeof m.init === 'string' && m.init !== '' && m.init !== 'random' ? m.init : undefined);
  const source: Record<string, unknown> = folder ? await readDistilBertConfig(folder) : { ...DISTILBERT_BASE, ...m };
  return Object.fromEntries(SIZE_FIELDS.map((f) => [f, source[f] ?? DISTILBERT_BASE[f]])) as ModelSizes;
}

/**
 * The plan measures a step of triples (groups of 2) under pairwise losses with plain accumulation. A config
 * whose step is larger (K > 1 negatives per query, or an in-batch term, which takes GradCache under
 * accumulation) would get a plan for a smaller step than the one it runs: refused, naming what it has.
 */
function refuseUnplannable(config: Config): void {
  const why: string[] = [];
  const k = config.data.groups?.negatives ?? 1;
  if (k > 1) why.push(`data.groups with ${k} negatives per query`);
  if (termsNeed(lossTerms(config.train.loss)).inBatch) why.push('an in-batch loss term');
  if (why.length) {
    throw new ConfigError(`the memory plan measures steps of triples (1 negative) with pairwise losses; this config has ${why.join(' and ')}: set train.accumulation_steps to a number`);
  }
}

/** The memory plan's input for a config: its student, batch size, sequence lengths, recompute and backend. */
export async function planInput(config: Config, memory: number | null, checkpointDir?: string): Promise<PlanInput> {
  refuseUnplannable(config);
  return {
    model: await modelSizes(config, checkpointDir),
    batchSize: config.train.batch_size,
    queryLength: config.data.query_max_length,
    passageLength: config.data.passage_max_length,
    recompute: config.train.recompute,
    backend: config.run.backend,
    ...(memory === null ? {} : { memory }),
  };
}

/** `run.device_memory` in bytes, or null when unset. */
export function deviceMemory(config: Config): number | null {
  const v = config.run.device_memory;
  if (v === null) return null;
  const b = parseMemory(v);
  if (b === null) throw new ConfigError(`run.device_memory: expected ${MEMORY_EXAMPLES} (got ${JSON.stringify(v)})`);
  return b;
}

/** `margin-mse train plan`: measures and plans the config's step (progress lines go to `onProgress`). */
export async function planForConfig(config: Config, memory: number | null, onProgress?: (line: string) => void): Promise<MemoryPlan> {
  return planMemory(await planInput(config, memory), onProgress);
}

/**
 * `train.accumulation_steps` as the loop runs it. `auto` plans the step (before the run touches its backend,
 * so the probes have the device to themselves) and logs the choice with its numbers; a step that does not
 * fit `run.device_memory` even one triple per micro-batch is a ConfigError with the numbers.
 */
export async function resolveAccumulation(config: Config, log: (msg: string) => void, checkpointDir?: string): Promise<number> {
  const steps = config.train.accumulation_steps;
  if (steps !== 'auto') return steps;
  const memory = deviceMemory(config);
  if (memory === null) throw new ConfigError(`train.accumulation_steps: auto needs run.device_memory (${MEMORY_EXAMPLES})`);
  const plan = await planMemory(await planInput(config, memory, checkpointDir), log);
  if (!plan.choice) throw new ConfigError(`train.accumulation_steps auto: ${choiceLine(plan)}`);
  log(`train.accumulation_steps auto: ${choiceLine(plan)}`);
  return plan.choice.accumulation;
}
