import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '../common/errors.js';
import { BACKEND_CHOICES, type BackendChoice } from '../models/engine/choices.js';
import type { ParityReport } from '../parity/reference.js';
import { convertCommand } from './model-convert.js';
import exportOnnxCommand from './model-export-onnx.js';

interface ParityArgs {
  model: string;
  reference: string;
  backend: BackendChoice;
  json: boolean;
}

/**
 * `margin-mse model parity`: recomputes a reference file's quantities (PyTorch goldens, see docs/models.md)
 * with the given model on the chosen backend, prints the largest absolute and relative difference per
 * quantity, and exits 1 when any is past its tolerance. A reference with `token_type_ids` is a BERT_Cat one
 * (teachers' cross-encoder), any other a BERT_Dot (DistilBERT student) one.
 */
const parityCommand: CommandModule<object, ParityArgs> = {
  command: 'parity',
  describe: 'compare a model with a reference computation (e.g. PyTorch) quantity by quantity',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'HF model folder (config.json + model.safetensors or pytorch_model.bin)' })
      .option('reference', { type: 'string', demandOption: true, describe: 'reference JSON (format: docs/models.md)' })
      .option('backend', { choices: BACKEND_CHOICES, default: 'auto' as BackendChoice })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }) as unknown as Argv<ParityArgs>,
  handler: async (a) => {
    const [{ initBackend }, { bertCatParity }, { bertDotParity }, { formatReport }] = await Promise.all([
      import('../models/engine/backend.js'),
      import('../parity/bert-cat.js'),
      import('../parity/bert-dot.js'),
      import('../parity/reference.js'),
    ]);
    await refuseLongReference(a.model, a.reference);
    await initBackend(a.backend);
    const report: ParityReport = (await isBertCatReference(a.reference)) ? await bertCatParity(a.model, a.reference) : await bertDotParity(a.model, a.reference);
    process.stdout.write(a.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    if (!report.ok) process.exitCode = 1;
  },
};

/**
 * A reference whose token sequences are longer than the model's max_position_embeddings cannot be run (the
 * transformer would stop with a bug's stack): one line naming both files, before any backend starts.
 */
async function refuseLongReference(model: string, reference: string): Promise<void> {
  const { readReferenceJson } = await import('../parity/reference.js');
  const configFile = path.join(model, 'config.json');
  const config = await readFile(configFile, 'utf8').then((t) => JSON.parse(t) as { max_position_embeddings?: unknown }, () => undefined);
  const positions = config?.max_position_embeddings ?? 512; // HF's default for BERT and DistilBERT
  if (typeof positions !== 'number') return; // the model loader names a bad config.json
  const raw = await readReferenceJson(reference);
  if (raw === null || typeof raw !== 'object') return;
  for (const [key, value] of Object.entries(raw)) {
    const ids = (value as { input_ids?: unknown } | null)?.input_ids;
    if (!Array.isArray(ids)) continue;
    const longest = Math.max(0, ...ids.map((row: unknown) => (Array.isArray(row) ? row.length : 0)));
    if (longest > positions) {
      throw new ConfigError(`${reference}: ${key}.input_ids has sequences of ${longest} tokens, more than the model's max_position_embeddings ${positions} (${configFile})`);
    }
  }
}

async function isBertCatReference(file: string): Promise<boolean> {
  const { readReferenceJson } = await import('../parity/reference.js');
  const raw = await readReferenceJson(file);
  return raw !== null && typeof raw === 'object' && 'token_type_ids' in raw;
}

/** `margin-mse model <command>`. */
const command: CommandModule = {
  command: 'model <command>',
  describe: 'student and teacher networks',
  builder: (y) => y.command(parityCommand).command(convertCommand).command(exportOnnxCommand).demandCommand(1),
  handler: () => {},
};
export default command;
