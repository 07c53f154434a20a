import { promises as fsp } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { writeFileAtomic } from '../common/atomic.js';
import { applySets, ConfigError, dumpConfig, parseConfig } from '../common/config.js';
import { ModelConfig } from '../models/config.js';
import { checkpointDirs, latestCheckpoint } from '../train/checkpoint.js';
import { Config } from './config.js';

/**
 * What `margin-mse train --resume` continues: the run folder's own config.yaml, today's `--set` overrides on
 * top where they may change a run that has begun, and its latest complete checkpoint.
 *
 * The keys below decide how long and how visibly the run goes on and where it runs, not what it has learnt
 * so far; every other key (the model, the data, lr, batch size, seed, loss, …) changed on resume would give a
 * run that is neither the old one nor a new one, so it is refused, named, with the file that holds it.
 */
export const RESUME_KEYS: readonly string[] = [
  'run.out_dir', 'run.name', 'run.backend', 'run.inference',
  'train.max_steps', 'train.max_epochs', 'train.log_every', 'train.checkpoint_every', 'train.keep_checkpoints',
  // how a step is computed (memory and time), not what it computes
  'train.accumulation_steps', 'train.recompute',
  'train.validation.every', 'train.validation.batch_size', 'train.validation.patience', 'train.validation.min_steps',
  'data.prefetch',
];
const mayChange = (key: string) => RESUME_KEYS.includes(key) || key.startsWith('eval.');

export interface Resumed {
  config: Config;
  /** The checkpoint to continue, or null for a run stopped before its first one (it starts at step 0). */
  checkpointDir: string | null;
}

/** Dotted leaves of a config tree (arrays and nulls are leaves), for comparing two trees key by key. */
function leaves(tree: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (tree !== null && typeof tree === 'object' && !Array.isArray(tree)) {
    for (const [k, v] of Object.entries(tree)) for (const [kk, vv] of leaves(v, `${prefix}${k}.`)) out.set(kk, vv);
  } else if (prefix) out.set(prefix.slice(0, -1), JSON.stringify(tree));
  return out;
}

/** Keys whose value differs between two trees, with both values (JSON; undefined when absent). */
function changes(before: unknown, after: unknown): { key: string; was?: string; now?: string }[] {
  const a = leaves(before);
  const b = leaves(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).map((key) => ({ key, was: a.get(key), now: b.get(key) }));
}

/**
 * The config and checkpoint a resumed run continues in `runDir` (the folder named today: a copied run folder
 * resumes in the copy, though its config.yaml names the original). `sets` are today's `--set` overrides.
 * Refuses a model other than the checkpoint's (by `--set` or an edited config.yaml), an override of a key
 * that cannot change on resume, and a run whose every checkpoint is damaged (starting over at step 0 would
 * overwrite them). Overrides that apply are logged and written into config.yaml, so the next resume keeps them.
 */
export async function resumeRun(runDir: string, sets: readonly string[], log: (msg: string) => void): Promise<Resumed> {
  const saved = path.join(runDir, 'config.yaml');
  const text = await fsp.readFile(saved, 'utf8').catch(() => {
    throw new ConfigError(`--resume: ${saved} not found (no run named '${path.basename(runDir)}' in ${path.dirname(runDir)})`);
  });
  let raw: Record<string, unknown>;
  try {
    raw = (YAML.parse(text) ?? {}) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${saved}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  const { model: savedModel = {}, ...savedRest } = raw;
  const { model: setModel = {}, ...setRest } = applySets(raw, sets) as Record<string, unknown>;

  const dirs = await checkpointDirs(runDir);
  const checkpointDir = await latestCheckpoint(runDir, log);
  if (!checkpointDir && dirs.length > 0) {
    throw new ConfigError(
      `${runDir}: every checkpoint is damaged (${dirs.map((d) => path.basename(d)).join(', ')}; see the lines above); --resume would start over at step 0 and overwrite them: restore them, or move them out of the folder to train again from step 0`,
    );
  }
  const ckptConfigFile = checkpointDir ? path.join(checkpointDir, 'config.json') : null;
  const ckptConfig = ckptConfigFile ? (JSON.parse(await fsp.readFile(ckptConfigFile, 'utf8')) as Record<string, unknown>) : {};

  // The student is the checkpoint's: no --set may change the model section...
  const modelSets = changes(savedModel, setModel);
  if (modelSets.length > 0) {
    const { key, now } = modelSets[0];
    const has = key in ckptConfig ? ` has ${key} ${JSON.stringify(ckptConfig[key])}` : '';
    throw new ConfigError(
      `--set model.${key}=${now ?? ''}: a resumed run keeps its model (${ckptConfigFile ?? 'no checkpoint yet'}${has}, as ${saved} says); train another run (another run.name) for another model`,
    );
  }
  // ...and config.yaml must still describe it (an edit after the run started is refused, not ignored).
  for (const [key, value] of Object.entries(savedModel as Record<string, unknown>)) {
    if (key in ckptConfig && typeof value !== 'object' && value !== ckptConfig[key]) {
      throw new ConfigError(
        `${saved}: model.${key} is ${JSON.stringify(value)}, but the checkpoint's ${ckptConfigFile} has ${key} ${JSON.stringify(ckptConfig[key])}: a resumed run keeps its checkpoint's model (undo the edit, or train another run with another run.name)`,
      );
    }
  }

  const before = parseConfig(Config, savedRest, saved);
  const after = parseConfig(Config, setRest, `${saved} with --set`);
  const changed = changes(before, after);
  const refused = changed.filter((c) => !mayChange(c.key));
  if (refused.length > 0) {
    const list = refused.map((c) => `${c.key} (${c.was} in ${saved}, --set ${c.now})`).join(', ');
    throw new ConfigError(`--set ${list}: cannot change on resume (the run so far was trained with it); on resume --set may change ${RESUME_KEYS.join(', ')} and eval.*; train another run (another run.name) to change the rest`);
  }
  for (const c of changed) log(`--resume: --set ${c.key}=${c.now} applies (${saved} had ${c.was})`);

  // The folder resumed is the one named today, whatever config.yaml says (a copy's names the original).
  const moved = path.resolve(after.run.out_dir, after.run.name) !== runDir;
  const run = moved ? { ...after.run, out_dir: path.dirname(runDir), name: path.basename(runDir) } : after.run;
  let model = savedModel as Config['model'];
  if (!checkpointDir) {
    // Starting from step 0 builds the student from the saved model section: it must be valid after all.
    model = parseConfig(ModelConfig, savedModel, `${saved} (model)`);
    log(`--resume: no complete checkpoint in ${runDir}; starting from step 0`);
  }
  // The student comes from the checkpoint's config.json, so the saved `model` section is kept as written
  // rather than validated again (its schema is models/config.ts's and may have moved since).
  const config = { ...after, run, model } as Config;
  if (changed.length > 0 || moved) {
    await writeFileAtomic(saved, dumpConfig({ ...config, model: savedModel }));
  }
  return { config, checkpointDir };
}
