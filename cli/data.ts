import { createInterface } from 'node:readline';
import type { Argv, CommandModule } from 'yargs';
import { readLines } from '../common/lines.js';
import { progress, type Progress } from '../common/progress.js';
import { loadConfig } from '../common/config.js';
import { Config } from '../pipelines/config.js';
import { resolveVocab } from '../data/config.js';
import { inspect } from '../data/inspect.js';
import { prepare, type PrepareProgress } from '../data/prepare.js';
import { loadTokenizer } from '../data/tokenizer.js';

/**
 * Lines of a file (readLines: errors name the line) or of stdin. Stdin goes through node:readline,
 * as it may be a pipe or socket that cannot be opened by path; there invalid UTF-8 becomes U+FFFD.
 */
async function* inputLines(file: string | undefined): AsyncGenerator<string> {
  if (file !== undefined) {
    for await (const { text } of readLines(file)) yield text;
    return;
  }
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) yield line.replace(/^\ufeff/, '');
}

const withConfig = (y: Argv): Argv =>
  y
    .option('config', { type: 'string', describe: 'YAML config; its `data` section is used' })
    .option('set', { type: 'string', array: true, default: [], describe: 'override, e.g. --set data.max_triples=1000' });

const tokenize: CommandModule = {
  command: 'tokenize',
  describe: 'WordPiece-tokenize one text per line, one JSON line {"tokens","ids"} per text',
  builder: (y) =>
    y
      .option('vocab', { type: 'string', default: 'bert-base-uncased', describe: 'vocab file, or a bundled vocab name' })
      .option('input', { type: 'string', describe: 'text file, one text per line (default: stdin)' })
      .option('special', { type: 'boolean', default: false, describe: 'add [CLS] … [SEP] (and truncate with --max-length)' })
      .option('max-length', { type: 'number', describe: 'with --special: at most N tokens in all' }),
  handler: async (argv) => {
    const tok = await loadTokenizer(resolveVocab(argv.vocab as string));
    const special = argv.special as boolean;
    const max = (argv['max-length'] as number | undefined) ?? Infinity;
    let out: string[] = [];
    const flush = () =>
      new Promise<void>((resolve) => {
        if (process.stdout.write(out.join(''))) resolve();
        else process.stdout.once('drain', resolve);
        out = [];
      });
    for await (const text of inputLines(argv.input as string | undefined)) {
      const ids = special ? Array.from(tok.encode(text, max)) : tok.ids(text);
      out.push(`${JSON.stringify({ tokens: ids.map((id) => tok.idToToken(id)), ids })}\n`);
      if (out.length >= 1000) await flush();
    }
    await flush();
  },
};

const prepareCmd: CommandModule = {
  command: 'prepare',
  describe: 'tokenize collection, queries and triples (or groups) into the Arrow cache (data.cache_dir); no-op when up to date',
  builder: withConfig,
  handler: async (argv) => {
    const cfg = (await loadConfig(Config, argv.config as string | undefined, argv.set as string[])).data;
    // One progress display per part (passages, queries, triples), in the order prepare reaches them.
    let bar: { part: string; shown: Progress; rows: number } | null = null;
    const onProgress = ({ part, rows }: PrepareProgress) => {
      if (bar?.part !== part) {
        bar?.shown.stop();
        bar = { part, shown: progress({ label: `prepare ${part}`, unit: 'rows' }), rows: 0 };
      }
      bar.shown.tick(rows - bar.rows);
      bar.rows = rows;
    };
    const { cacheDir, manifest, reused } = await prepare(cfg, { onProgress });
    (bar as { shown: Progress } | null)?.shown.stop();
    const skipped = Object.entries(manifest.skipped).map(([k, v]) => `${k} ${v.count}`).join(', ');
    process.stdout.write(
      `${reused ? 'up to date' : `prepared in ${manifest.seconds.toFixed(1)} s`}: ${cacheDir}\n` +
        `  ${manifest.inputs.groups ? `groups (1 + ${manifest.groups.size - 1})` : 'triples'} ${manifest.groups.rows}, queries ${manifest.queries.rows}, passages ${manifest.passages.rows} ` +
        `(truncated ${manifest.passages.truncated}), skipped lines: ${skipped}\n`,
    );
  },
};

const inspectCmd: CommandModule = {
  command: 'inspect',
  describe: 'summary of a prepared cache and its first triples (or groups) as tokens',
  builder: (y) =>
    withConfig(y)
      .option('cache', { type: 'string', describe: 'cache folder (default: data.cache_dir of the config)' })
      .option('rows', { type: 'number', default: 3, describe: 'triples (or groups) to show' }),
  handler: async (argv) => {
    const cacheDir = (argv.cache as string | undefined) ?? (await loadConfig(Config, argv.config as string | undefined, argv.set as string[])).data.cache_dir;
    process.stdout.write(await inspect(cacheDir, argv.rows as number));
  },
};

/** `margin-mse data <command>`. */
const command: CommandModule = {
  command: 'data <command>',
  describe: 'data stage: tokenize, prepare the cache, inspect it',
  builder: (y) => y.command(tokenize).command(prepareCmd).command(inspectCmd).demandCommand(1),
  handler: () => {},
};
export default command;
