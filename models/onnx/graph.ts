import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  Version,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

/**
 * A small builder for ONNX graphs over the protobuf messages of onnx-buf (the official onnx.proto compiled for
 * @bufbuild/protobuf), so the model files are written by a conformant protobuf library, not by hand.
 *
 * The graphs use the default domain at opset 17 (the first with LayerNormalization) and IR version 8, the pair
 * ONNX 1.12 introduced: every ONNX Runtime since 1.12 loads them.
 */

export const OPSET = 17;
const IR_VERSION = BigInt(Version.IR_VERSION_2021_7_30); // 8

export type ElemType = 'float32' | 'int64';
const ELEM: Record<ElemType, TensorProto_DataType> = { float32: TensorProto_DataType.FLOAT, int64: TensorProto_DataType.INT64 };

/** A dimension: a fixed size, or a name for a dynamic axis (e.g. 'batch'). */
export type Dim = number | string;

/** Node attributes: a number is an INT, a number[] INTS, `{ float }` a FLOAT. */
export type AttrValue = number | number[] | { float: number };

function attribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'number') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(v) });
  if (Array.isArray(v)) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: v.map(BigInt) });
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: v.float });
}

function valueInfo(name: string, elem: ElemType, dims: Dim[]): ValueInfoProto {
  const dim = dims.map((d) =>
    create(TensorShapeProto_DimensionSchema, { value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d } }),
  );
  const tensorType = create(TypeProto_TensorSchema, { elemType: ELEM[elem], shape: create(TensorShapeProtoSchema, { dim }) });
  return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }) });
}

/** The bytes of a typed array, without a copy. ONNX raw_data is little-endian, as every CPU onnxruntime-node ships for. */
function bytes(a: Float32Array | BigInt64Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength);
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** A fresh value name from `hint` (names must be unique within a graph). */
  private fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Claims a name the caller chose (graph inputs and outputs): it must be free. */
  private exact(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph: the name '${name}' is taken`);
    this.names.add(name);
    return name;
  }

  /** A graph input; returns its name. */
  input(name: string, elem: ElemType, dims: Dim[]): string {
    this.inputs.push(valueInfo(this.exact(name), elem, dims));
    return name;
  }

  /** Declares the value `name` (a node's output, named by `node(..., out)`) a graph output. */
  output(name: string, elem: ElemType, dims: Dim[]): void {
    if (!this.names.has(name)) throw new Error(`ONNX graph: no value '${name}' to output`);
    this.outputs.push(valueInfo(name, elem, dims));
  }

  /** A float32 initializer (weights; the array is referenced, not copied, until the model is serialized). */
  float(name: string, shape: readonly number[], data: Float32Array): string {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`ONNX graph: initializer '${name}' of shape [${shape}] needs ${size} values, got ${data.length}`);
    const n = this.fresh(name);
    this.initializers.push(create(TensorProtoSchema, { name: n, dims: shape.map(BigInt), dataType: TensorProto_DataType.FLOAT, rawData: bytes(data) }));
    return n;
  }

  /** A float32 scalar constant. */
  scalar(name: string, value: number): string {
    return this.float(name, [], Float32Array.of(value));
  }

  /** An int64 constant: a vector (shape, axes, starts), or a scalar with `scalar = true`. */
  int64(name: string, values: number[], scalar = false): string {
    if (scalar && values.length !== 1) throw new Error(`ONNX graph: scalar '${name}' needs one value`);
    const n = this.fresh(name);
    const dims = scalar ? [] : [BigInt(values.length)];
    this.initializers.push(create(TensorProtoSchema, { name: n, dims, dataType: TensorProto_DataType.INT64, rawData: bytes(BigInt64Array.from(values, BigInt)) }));
    return n;
  }

  /**
   * Adds a node of the default domain with one output; returns the output's name: `out` exactly (for graph
   * outputs), else a fresh name made from the op.
   */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    for (const i of inputs) if (!this.names.has(i)) throw new Error(`ONNX graph: ${op} reads '${i}', which nothing defines`);
    const output = out === undefined ? this.fresh(op.toLowerCase()) : this.exact(out);
    this.nodes.push(
      create(NodeProtoSchema, {
        name: `${op}_${this.nodes.length}`,
        opType: op,
        input: inputs,
        output: [output],
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return output;
  }

  /** The serialized ModelProto (ONNX file bytes). `metadata` becomes the model's metadata_props. */
  toBytes(opts: { graphName: string; docString?: string; metadata?: Record<string, string> }): Uint8Array {
    if (this.outputs.length === 0) throw new Error('ONNX graph: no outputs declared');
    const graph = create(GraphProtoSchema, {
      name: opts.graphName,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    });
    const model = create(ModelProtoSchema, {
      irVersion: IR_VERSION,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(OPSET) })],
      producerName: 'margin-mse',
      docString: opts.docString ?? '',
      graph,
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
    });
    return toBinary(ModelProtoSchema, model);
  }
}
