import type { Argv, CommandModule } from 'yargs';
import { ONNX_KINDS, type OnnxKind } from '../models/onnx/kinds.js';

interface ExportOnnxArgs {
  model: string;
  out: string;
  kind?: OnnxKind;
}

/**
 * `margin-mse model export-onnx`: the model of a folder as one ONNX file (opset 17, dynamic batch and sequence
 * axes; inputs and outputs in docs/engine.md), for ONNX Runtime, transformers.js, Vespa or Qdrant.
 */
const command: CommandModule<object, ExportOnnxArgs> = {
  command: 'export-onnx',
  describe: 'write a BERT_Dot student or BERT_Cat teacher folder as an ONNX file',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'model folder (config.json + weights)' })
      .option('out', { type: 'string', demandOption: true, describe: '.onnx file to write (atomically)' })
      .option('kind', { choices: ONNX_KINDS, describe: 'default: from config.json (model_type distilbert → bert-dot, bert or BERT_Cat → bert-cat)' }) as unknown as Argv<ExportOnnxArgs>,
  handler: async (a) => {
    const [{ initBackend }, { exportOnnxFile }] = await Promise.all([import('../models/engine/backend.js'), import('../models/onnx/export-folder.js')]);
    // The weights only pass through tfjs on their way to the graph: the cpu backend holds them without a wasm start.
    await initBackend('cpu', { quiet: true });
    const r = await exportOnnxFile(a.model, a.out, a.kind);
    process.stderr.write(`wrote ${r.out}: ${r.summary}, ${(r.bytes / 2 ** 20).toFixed(1)} MiB\n`);
  },
};
export default command as CommandModule;
