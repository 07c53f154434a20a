import type { Argv, CommandModule } from 'yargs';
import type { Progress } from '../common/progress.js';
import type { PrepareProgress } from '../data/prepare.js';
import { atLeast, NON_NEGATIVE_INT, numberOption } from './flags.js';

/** Library modules are imported in the handlers (see cli/eval.ts). */

/**
 * Lines of a file or of stdin, through readLines either way: invalid UTF-8 is an error naming the line
 * (`stdin:3`), never a silently replaced character.
 */
async function* inputLines(file: string | undefined): AsyncGenerator<string> {
  const { readLines } = await import('../common/lines.js');
  const lines = file !== undefined ? readLines(file) : readLines('stdin', { stream: process.stdin as AsyncIterable<Buffer> });
  for await (const { text } of lines) yield text;
}

interface ConfigFlags {
  config?: string;
  set: string[];
}

const withConfig = (y: Argv): Argv =>
  y
    .option('config', { type: 'string', describe: 'YAML config; its `data` section is used' })
    .option('set', { type: 'string', array: true, default: [], describe: 'override, e.g. --set data.max_triples=1000' });

async function dataSection(argv: ConfigFlags) {
  const [{ loadConfig }, { Config }] = await Promise.all([import('../common/config.js'), import('../pipelines/config.js')]);
  return (await loadConfig(Config, argv.config, argv.set)).data;
}

interface TokenizeArgs {
  vocab: string;
  input?: string;
  special: boolean;
  'max-length'?: number;
}

const tokenize: CommandModule<object, TokenizeArgs> = {
  command: 'tokenize',
  describe: 'WordPiece-tokenize one text per line, one JSON line {"tokens","ids"} per text',
  builder: (y) =>
    y
      .option('vocab', { type: 'string', default: 'bert-base-uncased', describe: 'vocab file, or a bundled vocab name' })
      .option('input', { type: 'string', describe: 'text file, one text per line (default: stdin)' })
      .option('special', { type: 'boolean', default: false, describe: 'add [CLS] … [SEP] (and truncate with --max-length)' })
      .option('max-length', numberOption('--max-length', atLeast(2), { describe: 'with --special: at most N tokens in all, [CLS] and [SEP] included' })) as unknown as Argv<TokenizeArgs>,
  handler: async (argv) => {
    const [{ resolveVocab }, { loadTokenizer }] = await Promise.all([import('../data/vocab-name.js'), import('../data/tokenizer.js')]);
    const tok = await loadTokenizer(resolveVocab(argv.vocab));
    const special = argv.special;
    const max = argv['max-length'] ?? Infinity;
    let out: string[] = [];
    const flush = () =>
      new Promise<void>((resolve) => {
        if (process.stdout.write(out.join(''))) resolve();
        else process.stdout.once('drain', resolve);
        out = [];
      });
    for await (const text of inputLines(argv.input)) {
      const ids = special ? Array.from(tok.encode(text, max)) : tok.ids(text);
      out.push(`${JSON.stringify({ tokens: ids.map((id) => tok.idToToken(id)), ids })}\n`);
      if (out.length >= 1000) await flush();
    }
    await flush();
  },
};

const prepareCmd: CommandModule<object, ConfigFlags> = {
  command: 'prepare',
  describe: 'tokenize collection, queries and triples (or groups) into the Arrow cache (data.cache_dir); no-op when up to date',
  builder: (y) => withConfig(y) as unknown as Argv<ConfigFlags>,
  handler: async (argv) => {
    const cfg = await dataSection(argv);
    const [{ progress }, { prepare }] = await Promise.all([import('../common/progress.js'), import('../data/prepare.js')]);
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

interface InspectArgs extends ConfigFlags {
  cache?: string;
  rows: number;
}

const inspectCmd: CommandModule<object, InspectArgs> = {
  command: 'inspect',
  describe: 'summary of a prepared cache and its first triples (or groups) as tokens',
  builder: (y) =>
    withConfig(y)
      .option('cache', { type: 'string', describe: 'cache folder (default: data.cache_dir of the config)' })
      .option('rows', numberOption('--rows', NON_NEGATIVE_INT, { default: 3, describe: 'triples (or groups) to show' })) as unknown as Argv<InspectArgs>,
  handler: async (argv) => {
    const cacheDir = argv.cache ?? (await dataSection(argv)).cache_dir;
    const { inspect } = await import('../data/inspect.js');
    process.stdout.write(await inspect(cacheDir, argv.rows));
  },
};

/** `margin-mse data <command>`. */
const command: CommandModule = {
  command: 'data <command>',
  describe: 'data stage: tokenize, prepare the cache, inspect it',
  builder: (y) =>
    y
      .command(tokenize as unknown as CommandModule)
      .command(prepareCmd as unknown as CommandModule)
      .command(inspectCmd as unknown as CommandModule)
      .demandCommand(1),
  handler: () => {},
};
export default command;
