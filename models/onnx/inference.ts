import type { BertCatConfig, BertCatEncoder, BertCatForm } from '../bert-cat.js';
import type { DistilBertConfig } from '../distilbert.js';
import { createOnnxSession, type OnnxSession, type OnnxSessionOptions } from '../engine/onnx-runtime.js';
import type { HostWeights } from './encoder.js';
import { bertCatOnnx, bertDotOnnx } from './export.js';

/**
 * The two models run by ONNX Runtime from their weights in memory: the graph is built (models/onnx/export.ts)
 * and handed to a session as bytes, no file. Inputs are the project's padded int32 batches (row-major
 * [rows, length], mask 1 = token, 0 = padding), outputs plain Float32Arrays, so callers need no tensors.
 */

/** int32 ids → the graphs' int64 inputs. */
function int64(a: Int32Array): BigInt64Array {
  const out = new BigInt64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = BigInt(a[i]);
  return out;
}

/** The sequence length of a [rows, length] batch, checked against the model's positions. */
function batchLength(rows: number, arrays: Int32Array[], maxPositions: number): number {
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`ONNX inference: expected at least one row, got ${rows}`);
  const length = arrays[0].length / rows;
  if (!Number.isInteger(length) || arrays.some((a) => a.length !== rows * length)) {
    throw new Error(`ONNX inference: inputs of ${arrays.map((a) => a.length).join(', ')} values are not ${rows} rows of one length`);
  }
  if (length > maxPositions) throw new Error(`sequence length ${length} exceeds max_position_embeddings ${maxPositions}`);
  return length;
}

/** BERT_Dot's encoder (DistilBERT) on ONNX Runtime: CLS vectors of padded id batches. */
export class OnnxBertDot {
  private constructor(
    readonly config: DistilBertConfig,
    readonly onnx: OnnxSession,
  ) {}

  static async create(config: DistilBertConfig, weights: HostWeights, opts: OnnxSessionOptions = {}): Promise<OnnxBertDot> {
    return new OnnxBertDot(config, await createOnnxSession(bertDotOnnx(config, weights), opts));
  }

  get dim(): number {
    return this.config.dim;
  }

  /** ids, mask: int32 [rows, length] → CLS vectors [rows, dim], row-major. */
  async encode(ids: Int32Array, mask: Int32Array, rows: number): Promise<Float32Array> {
    const L = batchLength(rows, [ids, mask], this.config.max_position_embeddings);
    const { Tensor } = this.onnx.ort;
    const out = await this.onnx.session.run(
      { input_ids: new Tensor('int64', int64(ids), [rows, L]), attention_mask: new Tensor('int64', int64(mask), [rows, L]) },
      ['cls'],
    );
    return out.cls.data as Float32Array;
  }

  dispose(): Promise<void> {
    return this.onnx.release();
  }
}

/** BERT_Cat (either checkpoint form) on ONNX Runtime: scores of padded `[CLS] q [SEP] p [SEP]` batches. */
export class OnnxBertCat {
  private constructor(
    readonly config: BertCatConfig,
    readonly onnx: OnnxSession,
    private readonly withCls: boolean,
  ) {}

  /** `cls: true` adds the [CLS] vectors to the graph (for forward()); `encoder` as BertCat.encoder (default bert). */
  static async create(
    config: BertCatConfig,
    form: BertCatForm,
    weights: HostWeights,
    opts: OnnxSessionOptions & { cls?: boolean; encoder?: BertCatEncoder } = {},
  ): Promise<OnnxBertCat> {
    const onnx = await createOnnxSession(bertCatOnnx(config, form, weights, { cls: opts.cls, encoder: opts.encoder }), opts);
    return new OnnxBertCat(config, onnx, opts.cls ?? false);
  }

  private async run(ids: Int32Array, typeIds: Int32Array, mask: Int32Array, rows: number, fetches: string[]) {
    const L = batchLength(rows, [ids, typeIds, mask], this.config.max_position_embeddings);
    const { Tensor } = this.onnx.ort;
    return this.onnx.session.run(
      {
        input_ids: new Tensor('int64', int64(ids), [rows, L]),
        attention_mask: new Tensor('int64', int64(mask), [rows, L]),
        token_type_ids: new Tensor('int64', int64(typeIds), [rows, L]),
      },
      fetches,
    );
  }

  /** ids, typeIds, mask: int32 [rows, length] → scores [rows]. */
  async score(ids: Int32Array, typeIds: Int32Array, mask: Int32Array, rows: number): Promise<Float32Array> {
    return (await this.run(ids, typeIds, mask, rows, ['score'])).score.data as Float32Array;
  }

  /** Scores [rows] and the last layer's [CLS] vectors [rows, hidden] (needs `cls: true` at create). */
  async forward(ids: Int32Array, typeIds: Int32Array, mask: Int32Array, rows: number): Promise<{ scores: Float32Array; cls: Float32Array }> {
    if (!this.withCls) throw new Error('OnnxBertCat.forward: create the model with { cls: true }');
    const out = await this.run(ids, typeIds, mask, rows, ['score', 'cls']);
    return { scores: out.score.data as Float32Array, cls: out.cls.data as Float32Array };
  }

  dispose(): Promise<void> {
    return this.onnx.release();
  }
}
