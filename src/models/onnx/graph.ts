/**
 * Builds ONNX models in memory and serialises them (ModelProto, IR 8, default opset 17).
 * Field numbers follow onnx/onnx.proto; only what our converters use is covered.
 */
import { ProtoWriter } from './protobuf.ts';

export const TensorType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
} as const;
export type TensorTypeName = keyof typeof TensorType;

export type TensorData = Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

export interface Tensor {
  readonly type: TensorTypeName;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

export type AttributeValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: Tensor };

export const attr = {
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  int: (value: number): AttributeValue => ({ kind: 'int', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
  ints: (value: readonly number[]): AttributeValue => ({ kind: 'ints', value }),
  tensor: (value: Tensor): AttributeValue => ({ kind: 'tensor', value }),
};

/** A dimension is fixed (number) or symbolic (string, e.g. 'batch'). */
export type Dim = number | string;

interface ValueInfo {
  name: string;
  type: TensorTypeName;
  shape: readonly Dim[];
}

interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attributes: Readonly<Record<string, AttributeValue>>;
  domain: string;
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function tensorTypeOf(data: TensorData): TensorTypeName {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int8Array) return 'int8';
  return 'uint8';
}

export function tensor(data: TensorData, dims: readonly number[]): Tensor {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== data.length) {
    throw new Error(`tensor of shape [${dims.join(',')}] needs ${expected} values, got ${data.length}`);
  }
  return { type: tensorTypeOf(data), dims, data };
}

function writeTensor(w: ProtoWriter, t: Tensor, name: string): void {
  if (t.dims.length > 0) w.packedInts(1, t.dims);
  w.int(2, TensorType[t.type]);
  w.string(8, name);
  // raw_data is little-endian, which is what typed arrays hold on every platform Node supports.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, TensorType[v.type]);
      tt.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function writeAttribute(w: ProtoWriter, name: string, a: AttributeValue): void {
  w.string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, (t) => writeTensor(t, a.value, name));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
  }
  w.int(20, ATTRIBUTE_TYPE[a.kind]);
}

export interface ModelOptions {
  opset?: number;
  producer?: string;
  producerVersion?: string;
  /** Extra operator sets, e.g. { domain: 'com.microsoft', version: 1 }. */
  extraOpsets?: ReadonlyArray<{ domain: string; version: number }>;
  metadata?: Readonly<Record<string, string>>;
}

/** A graph's parts, each one encoded message (NodeProto, TensorProto, ValueInfoProto), in order. */
export interface GraphFragments {
  readonly nodes: readonly Uint8Array[];
  readonly initializers: readonly Uint8Array[];
  readonly inputs: readonly Uint8Array[];
  readonly outputs: readonly Uint8Array[];
}

function encode(write: (w: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter();
  write(w);
  return w.finish();
}

export interface GraphBuilderOptions {
  /**
   * Prepended to every generated node and value name, so that nodes built here can be appended to
   * another graph (src/models/onnx/reader.ts) without clashing with its names.
   */
  readonly prefix?: string;
}

export class GraphBuilder {
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers = new Map<string, Tensor>();
  private readonly nodes: NodeSpec[] = [];
  private counter = 0;

  private readonly prefix: string;

  constructor(
    private readonly name: string,
    options: GraphBuilderOptions = {},
  ) {
    this.prefix = options.prefix ?? '';
  }

  private fresh(prefix: string): string {
    this.counter += 1;
    return `${this.prefix}${prefix}_${this.counter}`;
  }

  input(name: string, type: TensorTypeName, shape: readonly Dim[]): string {
    this.inputs.push({ name, type, shape });
    return name;
  }

  output(name: string, type: TensorTypeName, shape: readonly Dim[]): void {
    this.outputs.push({ name, type, shape });
  }

  /** Adds a weight or constant; returns its name. */
  initializer(name: string, value: Tensor): string {
    if (this.initializers.has(name)) throw new Error(`duplicate initializer ${name}`);
    this.initializers.set(name, value);
    return name;
  }

  constFloat(values: readonly number[] | number, dims?: readonly number[]): string {
    const arr = Float32Array.from(typeof values === 'number' ? [values] : values);
    return this.initializer(this.fresh('const_f'), tensor(arr, dims ?? (typeof values === 'number' ? [] : [arr.length])));
  }

  constInt64(values: readonly number[] | number, dims?: readonly number[]): string {
    const list = typeof values === 'number' ? [values] : values;
    const arr = BigInt64Array.from(list.map((v) => BigInt(v)));
    return this.initializer(this.fresh('const_i'), tensor(arr, dims ?? (typeof values === 'number' ? [] : [arr.length])));
  }

  /** Adds a node with `outputCount` outputs and returns their generated names. */
  nodeMulti(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Readonly<Record<string, AttributeValue>> = {},
    domain = '',
  ): string[] {
    const name = this.fresh(opType);
    const outputs = Array.from({ length: outputCount }, (_, i) => `${name}_out${i}`);
    this.nodes.push({ opType, inputs, outputs, name, attributes, domain });
    return outputs;
  }

  /** Adds a single-output node; returns the output name. */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    domain = '',
  ): string {
    return this.nodeMulti(opType, inputs, 1, attributes, domain)[0]!;
  }

  /** Renames a value to a fixed graph-output name with an Identity node. */
  rename(value: string, to: string): string {
    this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [to], name: this.fresh('Identity'), attributes: {}, domain: '' });
    return to;
  }

  /** The nodes, initializers, inputs and outputs encoded one by one, for splicing into another graph. */
  fragments(): GraphFragments {
    return {
      nodes: this.nodes.map((n) =>
        encode((nw) => {
          for (const i of n.inputs) nw.string(1, i);
          for (const o of n.outputs) nw.string(2, o);
          nw.string(3, n.name);
          nw.string(4, n.opType);
          for (const [key, value] of Object.entries(n.attributes)) nw.message(5, (aw) => writeAttribute(aw, key, value));
          if (n.domain) nw.string(7, n.domain);
        }),
      ),
      initializers: [...this.initializers].map(([name, t]) => encode((tw) => writeTensor(tw, t, name))),
      inputs: this.inputs.map((v) => encode((vw) => writeValueInfo(vw, v))),
      outputs: this.outputs.map((v) => encode((vw) => writeValueInfo(vw, v))),
    };
  }

  toBytes(options: ModelOptions = {}): Uint8Array {
    const parts = this.fragments();
    const w = new ProtoWriter();
    w.int(1, 8); // ir_version 8: understood by every onnxruntime release since 1.12
    w.string(2, options.producer ?? 'sextant');
    w.string(3, options.producerVersion ?? '1');
    w.message(7, (g) => {
      for (const n of parts.nodes) g.bytes(1, n);
      g.string(2, this.name);
      for (const t of parts.initializers) g.bytes(5, t);
      for (const v of parts.inputs) g.bytes(11, v);
      for (const v of parts.outputs) g.bytes(12, v);
    });
    w.message(8, (o) => o.string(1, '').int(2, options.opset ?? 17));
    for (const extra of options.extraOpsets ?? []) w.message(8, (o) => o.string(1, extra.domain).int(2, extra.version));
    for (const [key, value] of Object.entries(options.metadata ?? {})) w.message(14, (m) => m.string(1, key).string(2, value));
    return w.finish();
  }
}
