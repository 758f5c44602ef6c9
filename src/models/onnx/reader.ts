/**
 * A minimal ONNX (protocol-buffers) reader: enough of ModelProto to extend a graph we did not write
 * (an HF import, our own converter's output) without a protobuf runtime or the onnx.proto schema.
 *
 * It never decodes the whole model. `readOnnxModel` walks the top-level fields of ModelProto and of
 * its GraphProto (tag, length, skip), decoding only the small messages it reports on (opset imports,
 * graph inputs and outputs, node and initializer names, external-data locations). `appendToGraph`
 * rewrites the model by tag/length surgery: every field is copied byte for byte except the graph's
 * old outputs, which are dropped; new nodes, initializers and outputs are appended at the end of the
 * graph (protobuf repeated fields may come in any order, and ONNX nodes need not be sorted on disk
 * beyond being a valid topological order, which appending after the existing nodes keeps).
 *
 * Field numbers follow onnx/onnx.proto.
 */
import type { GraphFragments } from './graph.ts';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** ModelProto, GraphProto, NodeProto, ... field numbers we read or write. */
export const ModelField = { irVersion: 1, graph: 7, opsetImport: 8, metadataProps: 14 } as const;
export const GraphField = { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13, sparseInitializer: 15 } as const;
const NodeField = { input: 1, output: 2, name: 3, opType: 4, domain: 7 } as const;
const TensorField = { dims: 1, dataType: 2, name: 8, externalData: 13, dataLocation: 14 } as const;
const TENSOR_DATA_LOCATION_EXTERNAL = 1;

export class OnnxFormatError extends Error {
  override readonly name = 'OnnxFormatError';
}

/** One field of a message: where its tag starts, where its value lies, where it ends. */
export interface ProtoField {
  readonly field: number;
  readonly wireType: number;
  /** Offset of the tag. */
  readonly start: number;
  /** Offset just past the value. */
  readonly end: number;
  /** Value bytes for length-delimited fields (start..end of the payload). */
  readonly valueStart: number;
  readonly valueEnd: number;
  /** Decoded value of a varint field (as a bigint: int64 fields may exceed 2^53). */
  readonly varint?: bigint;
}

function readVarint(bytes: Uint8Array, pos: number, end: number): { value: bigint; pos: number } {
  let value = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new OnnxFormatError(`truncated varint at offset ${pos}`);
    const b = bytes[pos++]!;
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return { value, pos };
    shift += 7n;
  }
  throw new OnnxFormatError(`varint longer than 10 bytes at offset ${pos}`);
}

/** Splits bytes[start, end) into its fields, without decoding their values (varints aside). */
export function readFields(bytes: Uint8Array, start = 0, end = bytes.length): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = start;
  while (pos < end) {
    const tagStart = pos;
    const tag = readVarint(bytes, pos, end);
    pos = tag.pos;
    const field = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    if (field === 0) throw new OnnxFormatError(`field number 0 at offset ${tagStart}`);
    switch (wireType) {
      case WIRE_VARINT: {
        const v = readVarint(bytes, pos, end);
        fields.push({ field, wireType, start: tagStart, end: v.pos, valueStart: pos, valueEnd: v.pos, varint: v.value });
        pos = v.pos;
        break;
      }
      case WIRE_FIXED64:
      case WIRE_FIXED32: {
        const size = wireType === WIRE_FIXED64 ? 8 : 4;
        if (pos + size > end) throw new OnnxFormatError(`truncated fixed-width field ${field} at offset ${tagStart}`);
        fields.push({ field, wireType, start: tagStart, end: pos + size, valueStart: pos, valueEnd: pos + size });
        pos += size;
        break;
      }
      case WIRE_LENGTH_DELIMITED: {
        const len = readVarint(bytes, pos, end);
        const valueStart = len.pos;
        const valueEnd = valueStart + Number(len.value);
        if (len.value > BigInt(end - valueStart)) throw new OnnxFormatError(`field ${field} at offset ${tagStart} runs past the end of its message`);
        fields.push({ field, wireType, start: tagStart, end: valueEnd, valueStart, valueEnd });
        pos = valueEnd;
        break;
      }
      default:
        throw new OnnxFormatError(`unsupported wire type ${wireType} (field ${field}) at offset ${tagStart}`);
    }
  }
  return fields;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function stringOf(bytes: Uint8Array, f: ProtoField): string {
  if (f.wireType !== WIRE_LENGTH_DELIMITED) throw new OnnxFormatError(`field ${f.field} at offset ${f.start} is not a string`);
  return utf8.decode(bytes.subarray(f.valueStart, f.valueEnd));
}

function firstString(bytes: Uint8Array, fields: readonly ProtoField[], field: number): string | undefined {
  const f = fields.find((x) => x.field === field && x.wireType === WIRE_LENGTH_DELIMITED);
  return f ? stringOf(bytes, f) : undefined;
}

function firstVarint(fields: readonly ProtoField[], field: number): bigint | undefined {
  return fields.find((x) => x.field === field && x.wireType === WIRE_VARINT)?.varint;
}

function subFields(bytes: Uint8Array, f: ProtoField): ProtoField[] {
  if (f.wireType !== WIRE_LENGTH_DELIMITED) throw new OnnxFormatError(`field ${f.field} at offset ${f.start} is not a message`);
  return readFields(bytes, f.valueStart, f.valueEnd);
}

export interface OpsetImport {
  /** '' (or 'ai.onnx') is the default operator set. */
  readonly domain: string;
  readonly version: number;
}

export interface ValueInfo {
  readonly name: string;
  /** TensorProto.DataType (1 float, 10 float16, 7 int64, ...); undefined when the file does not say. */
  readonly elemType?: number;
  /** Dimensions: a number, a symbolic name, or null when unknown; undefined when the rank is unknown. */
  readonly shape?: ReadonlyArray<number | string | null>;
}

export interface OnnxModelInfo {
  readonly irVersion: number | undefined;
  readonly opsetImports: readonly OpsetImport[];
  /** The default-domain ('' / 'ai.onnx') opset version, undefined when the model imports none. */
  readonly defaultOpset: number | undefined;
  readonly graphInputs: readonly ValueInfo[];
  readonly graphOutputs: readonly ValueInfo[];
  /** Every name the top-level graph defines: inputs, initializers, node outputs. */
  readonly definedNames: ReadonlySet<string>;
  /** Files named by initializers stored outside the model (external data), relative to the model file. */
  readonly externalDataFiles: readonly string[];
  readonly nodeCount: number;
  readonly initializerCount: number;
}

function readValueInfo(bytes: Uint8Array, f: ProtoField): ValueInfo {
  const fields = subFields(bytes, f);
  const name = firstString(bytes, fields, 1);
  if (name === undefined) throw new OnnxFormatError(`ValueInfoProto at offset ${f.start} has no name`);
  const type = fields.find((x) => x.field === 2 && x.wireType === WIRE_LENGTH_DELIMITED);
  if (!type) return { name };
  const tensorType = subFields(bytes, type).find((x) => x.field === 1 && x.wireType === WIRE_LENGTH_DELIMITED);
  if (!tensorType) return { name };
  const tt = subFields(bytes, tensorType);
  const elem = firstVarint(tt, 1);
  const shapeField = tt.find((x) => x.field === 2 && x.wireType === WIRE_LENGTH_DELIMITED);
  const shape = shapeField
    ? subFields(bytes, shapeField)
        .filter((d) => d.field === 1 && d.wireType === WIRE_LENGTH_DELIMITED)
        .map((d) => {
          const df = subFields(bytes, d);
          const value = firstVarint(df, 1);
          if (value !== undefined) return Number(BigInt.asIntN(64, value));
          return firstString(bytes, df, 2) ?? null;
        })
    : undefined;
  return { name, ...(elem !== undefined ? { elemType: Number(elem) } : {}), ...(shape ? { shape } : {}) };
}

/** The top-level fields of a model and the one graph field among them. */
function modelLayout(bytes: Uint8Array): { fields: ProtoField[]; graph: ProtoField } {
  const fields = readFields(bytes);
  const graphs = fields.filter((f) => f.field === ModelField.graph);
  if (graphs.length !== 1 || graphs[0]!.wireType !== WIRE_LENGTH_DELIMITED) {
    throw new OnnxFormatError(`not an ONNX model: expected one graph (ModelProto field 7), found ${graphs.length}`);
  }
  return { fields, graph: graphs[0]! };
}

export function readOnnxModel(bytes: Uint8Array): OnnxModelInfo {
  const { fields, graph } = modelLayout(bytes);
  const ir = firstVarint(fields, ModelField.irVersion);
  const opsetImports = fields
    .filter((f) => f.field === ModelField.opsetImport)
    .map((f) => {
      const o = subFields(bytes, f);
      return { domain: firstString(bytes, o, 1) ?? '', version: Number(firstVarint(o, 2) ?? 0n) };
    });
  const graphFields = subFields(bytes, graph);
  const definedNames = new Set<string>();
  const externalDataFiles = new Set<string>();
  const graphInputs: ValueInfo[] = [];
  const graphOutputs: ValueInfo[] = [];
  let nodeCount = 0;
  let initializerCount = 0;
  for (const f of graphFields) {
    if (f.field === GraphField.node) {
      nodeCount += 1;
      for (const nf of subFields(bytes, f)) if (nf.field === NodeField.output) definedNames.add(stringOf(bytes, nf));
    } else if (f.field === GraphField.initializer) {
      initializerCount += 1;
      const tf = subFields(bytes, f);
      const name = firstString(bytes, tf, TensorField.name);
      if (name !== undefined) definedNames.add(name);
      if (firstVarint(tf, TensorField.dataLocation) === BigInt(TENSOR_DATA_LOCATION_EXTERNAL)) {
        const entries = tf.filter((x) => x.field === TensorField.externalData).map((x) => subFields(bytes, x));
        const location = entries.find((e) => firstString(bytes, e, 1) === 'location');
        const file = location ? firstString(bytes, location, 2) : undefined;
        if (file === undefined) throw new OnnxFormatError(`initializer ${name ?? '?'} is stored externally but names no location`);
        externalDataFiles.add(file);
      }
    } else if (f.field === GraphField.sparseInitializer) {
      throw new OnnxFormatError('sparse initializers are not supported');
    } else if (f.field === GraphField.input) {
      const v = readValueInfo(bytes, f);
      graphInputs.push(v);
      definedNames.add(v.name);
    } else if (f.field === GraphField.output) {
      graphOutputs.push(readValueInfo(bytes, f));
    }
  }
  const defaultOpset = opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
  return {
    irVersion: ir === undefined ? undefined : Number(ir),
    opsetImports,
    defaultOpset,
    graphInputs,
    graphOutputs,
    definedNames,
    externalDataFiles: [...externalDataFiles],
    nodeCount,
    initializerCount,
  };
}

function tagBytes(field: number, wireType: number): number[] {
  return varintBytes((field << 3) | wireType);
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array[] {
  return [Uint8Array.from([...tagBytes(field, WIRE_LENGTH_DELIMITED), ...varintBytes(payload.length)]), payload];
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export interface GraphAppendix extends Pick<GraphFragments, 'nodes' | 'initializers' | 'outputs'> {
  /** Extra ModelProto metadata_props entries (key -> value), appended after the existing ones. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * The model with its graph outputs replaced: old output entries dropped, `appendix`'s nodes,
 * initializers and outputs appended to the graph. Every other byte is kept as it was.
 */
export function appendToGraph(bytes: Uint8Array, appendix: GraphAppendix): Uint8Array {
  const { fields, graph } = modelLayout(bytes);
  const graphParts: Uint8Array[] = [];
  for (const f of readFields(bytes, graph.valueStart, graph.valueEnd)) {
    if (f.field === GraphField.output) continue;
    graphParts.push(bytes.subarray(f.start, f.end));
  }
  for (const n of appendix.nodes) graphParts.push(...lengthDelimited(GraphField.node, n));
  for (const t of appendix.initializers) graphParts.push(...lengthDelimited(GraphField.initializer, t));
  for (const o of appendix.outputs) graphParts.push(...lengthDelimited(GraphField.output, o));
  const newGraph = concat(graphParts);

  const replacedKeys = new Set(Object.keys(appendix.metadata ?? {}));
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    if (f === graph) parts.push(...lengthDelimited(ModelField.graph, newGraph));
    // ONNX Runtime refuses duplicate metadata keys: an entry this appendix sets replaces the old one.
    else if (f.field === ModelField.metadataProps && replacedKeys.has(firstString(bytes, subFields(bytes, f), 1) ?? '')) continue;
    else parts.push(bytes.subarray(f.start, f.end));
  }
  const encoder = new TextEncoder();
  for (const [key, value] of Object.entries(appendix.metadata ?? {})) {
    const entry = concat([...lengthDelimited(1, encoder.encode(key)), ...lengthDelimited(2, encoder.encode(value))]);
    parts.push(...lengthDelimited(ModelField.metadataProps, entry));
  }
  return concat(parts);
}
