import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';

interface ConvertArgs {
  model: string;
  out: string;
}

/**
 * `margin-mse model convert`: a model folder (model.safetensors or pytorch_model.bin, e.g. a checkpoint from
 * the hub) as the HF safetensors folder `train export` writes; what is written is models/weights/convert.ts's.
 */
export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert',
  describe: 'rewrite a model folder (pytorch_model.bin or model.safetensors) as an HF safetensors folder',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'model folder: config.json + pytorch_model.bin or model.safetensors (DistilBERT student or BERT_Cat teacher)' })
      .option('out', { type: 'string', demandOption: true, describe: 'new or empty folder to write' }) as unknown as Argv<ConvertArgs>,
  handler: async (a) => {
    const [{ initBackend }, { convertModelFolder }] = await Promise.all([import('../models/engine/backend.js'), import('../models/weights/convert.js')]);
    await initBackend('cpu', { quiet: true }); // tensors are only held and written, never computed with
    const s = await convertModelFolder(a.model, a.out);
    const vocab = s.vocab ? `, vocab.txt and tokenizer files (${s.vocab.bundled ? 'bundled bert-base-uncased, as config.json names an uncased BERT base' : `from ${s.vocab.from}`})` : '';
    console.log(`${s.read}: ${s.model} → ${path.resolve(a.out)}: config.json, model.safetensors (${s.tensors} float32 tensors)${vocab}`);
    if (!s.vocab) console.log('no vocab.txt written: the source has none and its config.json names no uncased BERT base; pass --vocab to eval and teachers score');
  },
};
