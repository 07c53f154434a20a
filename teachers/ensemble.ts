import { ConfigError } from '../common/config.js';
import { InputError, OutputError } from '../common/errors.js';
import { inputAtOutput } from '../common/same-file.js';
import { withAligned, type AlignMode } from './align.js';
import { AtomicLineWriter, detectFormat, formatRow, type ScoreFormat } from './score-file.js';

/**
 * A teacher ensemble: per triple, the mean (or a weighted mean) of several teachers' scores. The paper's
 * T2 teacher is the plain mean of BERT-Base, BERT-Large and ALBERT-Large BERT_Cat scores (Hofstätter et
 * al. 2020, Sec. 4). Weights are normalized to sum 1, so the ensemble stays on the teachers' score scale.
 */
export type EnsembleMethod = 'mean' | 'weighted';

export interface EnsembleOptions {
  inputs: string[];
  out: string;
  method?: EnsembleMethod;
  /** One per input, for `weighted`. */
  weights?: number[];
  format?: ScoreFormat;
  align?: AlignMode;
  log?: (msg: string) => void;
}

export interface EnsembleSummary {
  out: string;
  rows: number;
  format: ScoreFormat;
  /** How the inputs were lined up: in the same order (streamed), or joined by triple. */
  alignment: 'strict' | 'join';
  weights: number[];
}

/** Normalized weights for the method; throws on a wrong count or non-positive sum. */
export function ensembleWeights(n: number, method: EnsembleMethod, weights?: number[]): number[] {
  if (method === 'mean') {
    if (weights && weights.length > 0) throw new ConfigError('--weights goes with --method weighted');
    return Array.from({ length: n }, () => 1 / n);
  }
  if (!weights || weights.length !== n) throw new ConfigError(`--method weighted needs one weight per input (${n}), got ${weights?.length ?? 0}`);
  if (weights.some((w) => !Number.isFinite(w) || w < 0)) throw new ConfigError(`weights must be finite and >= 0, got ${weights.join(' ')}`);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) throw new ConfigError('weights must not all be 0');
  return weights.map((w) => w / sum);
}

/** Refuses an output that is one of the inputs: the atomic rename would replace that teacher's scores. */
async function refuseInputAsOutput(out: string, inputs: string[]): Promise<void> {
  const hit = await inputAtOutput(out, inputs.map((f) => ['--in', f] as const));
  if (hit) throw new OutputError(`${out}: --out is the --in file ${hit[1]}; refusing to overwrite a teacher's scores (write the ensemble elsewhere)`);
}

export async function ensemble(opts: EnsembleOptions): Promise<EnsembleSummary> {
  if (opts.inputs.length < 1) throw new ConfigError('ensemble needs at least one input');
  await refuseInputAsOutput(opts.out, opts.inputs);
  const weights = ensembleWeights(opts.inputs.length, opts.method ?? 'mean', opts.weights);
  const formats = opts.format ? opts.inputs.map(() => opts.format as ScoreFormat) : await Promise.all(opts.inputs.map(detectFormat));
  const format = formats[0];
  const other = formats.findIndex((f) => f !== format);
  if (other >= 0) throw new InputError(opts.inputs[other], undefined, `the score form of ${opts.inputs[0]} (${format}); inputs mix score forms`, formats[other]);

  const { result: rows, mode } = await withAligned(opts.inputs, { format, align: opts.align ?? 'auto', log: opts.log }, async (aligned) => {
    const out = await AtomicLineWriter.open(opts.out);
    try {
      for await (const r of aligned) {
        let pos = 0;
        let neg = 0;
        for (let k = 0; k < weights.length; k++) {
          pos += weights[k] * r.pos[k];
          neg += weights[k] * r.neg[k];
        }
        await out.write(formatRow(pos, neg, r.triple));
      }
      await out.commit();
      return out.lines;
    } catch (e) {
      await out.abort();
      throw e;
    }
  });
  return { out: opts.out, rows, format, alignment: mode, weights };
}
