import { promises as fsp } from 'node:fs';
import { datasetFiles, generate, type DatasetFiles, type GenerateOptions } from './generate.js';

/**
 * Generates the dataset into `dir` unless it is already there for the same options: regenerating would
 * change the files' mtimes and make `prepare` rebuild its cache for identical content.
 */
export async function ensureDataset(dir: string, options: GenerateOptions): Promise<{ files: DatasetFiles; reused: boolean }> {
  const files = datasetFiles(dir);
  const manifest = await fsp.readFile(files.manifest, 'utf8').then(JSON.parse, () => null);
  if (manifest && JSON.stringify(manifest.options) === JSON.stringify(options)) return { files, reused: true };
  return { files: await generate(dir, options), reused: false };
}
