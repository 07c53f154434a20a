import type { Argv, CommandModule } from 'yargs';
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
    await initBackend(a.backend);
    const report: ParityReport = (await isBertCatReference(a.reference)) ? await bertCatParity(a.model, a.reference) : await bertDotParity(a.model, a.reference);
    process.stdout.write(a.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    if (!report.ok) process.exitCode = 1;
  },
};

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
