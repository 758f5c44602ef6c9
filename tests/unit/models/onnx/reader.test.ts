// src/models/onnx/reader.ts: reading ModelProto's graph, outputs and opsets, and appending to a graph by tag/length surgery.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, tensor } from '../../../../src/models/onnx/graph.ts';
import { ProtoWriter } from '../../../../src/models/onnx/protobuf.ts';
import { appendToGraph, GraphField, OnnxFormatError, readFields, readOnnxModel } from '../../../../src/models/onnx/reader.ts';

/** y = x·2 + b, with symbolic and fixed dims, an extra opset and metadata. */
function smallModel(): Uint8Array {
  const g = new GraphBuilder('small');
  const x = g.input('x', 'float32', ['batch', 3]);
  const b = g.initializer('bias', tensor(Float32Array.from([1, 2, 3]), [3]));
  const y = g.node('Add', [g.node('Mul', [x, g.constFloat(2)]), b]);
  g.rename(y, 'y');
  g.output('y', 'float32', ['batch', 3]);
  g.output('x_copy_out', 'float32', ['batch', 3]);
  g.rename(x, 'x_copy_out');
  return g.toBytes({ opset: 15, extraOpsets: [{ domain: 'com.microsoft', version: 1 }], metadata: { author: 'tests' } });
}

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, dir: string, name: string): Promise<Record<string, ort.Tensor>> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  const session = await ort.InferenceSession.create(path);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('ONNX reader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sextant-onnx-reader-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads IR version, opset imports, graph inputs and outputs with their types and shapes, and defined names', () => {
    const info = readOnnxModel(smallModel());
    expect(info.irVersion).toBe(8);
    expect(info.opsetImports).toEqual([
      { domain: '', version: 15 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    expect(info.defaultOpset).toBe(15);
    expect(info.graphInputs).toEqual([{ name: 'x', elemType: 1, shape: ['batch', 3] }]);
    expect(info.graphOutputs.map((o) => o.name)).toEqual(['y', 'x_copy_out']);
    expect(info.graphOutputs[0]).toEqual({ name: 'y', elemType: 1, shape: ['batch', 3] });
    expect(info.definedNames.has('bias')).toBe(true);
    expect(info.definedNames.has('x')).toBe(true);
    expect(info.definedNames.has('y')).toBe(true);
    expect(info.nodeCount).toBe(4);
    expect(info.initializerCount).toBe(2);
    expect(info.externalDataFiles).toEqual([]);
  });

  it('re-appending a graph\'s own outputs reproduces the file byte for byte (everything else is copied verbatim)', () => {
    const g = new GraphBuilder('small');
    g.input('x', 'float32', ['batch', 3]);
    g.rename('x', 'y');
    g.output('y', 'float32', ['batch', 3]);
    const bytes = g.toBytes({ metadata: { a: 'b' } });
    const again = appendToGraph(bytes, { nodes: [], initializers: [], outputs: g.fragments().outputs });
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
  });

  it('drops the old outputs and appends nodes, initializers and a new output that ONNX Runtime runs', async () => {
    const bytes = smallModel();
    const g = new GraphBuilder('appendix', { prefix: 'extra/' });
    const w = g.initializer('extra/w', tensor(Float32Array.from([10, 20, 30]), [3]));
    g.rename(g.node('Mul', ['y', w]), 'z');
    g.output('z', 'float32', ['batch', 3]);
    const out = appendToGraph(bytes, { ...g.fragments(), metadata: { author: 'replaced', extra: 'yes' } });
    const info = readOnnxModel(out);
    expect(info.graphOutputs.map((o) => o.name)).toEqual(['z']);
    expect(info.opsetImports).toEqual(readOnnxModel(bytes).opsetImports);
    expect(info.nodeCount).toBe(readOnnxModel(bytes).nodeCount + 2);
    // Fields of the graph other than its outputs come through unchanged and in order.
    const graphOf = (b: Uint8Array) => readFields(b).find((f) => f.field === 7)!;
    const keep = (b: Uint8Array) => {
      const gf = graphOf(b);
      return readFields(b, gf.valueStart, gf.valueEnd)
        .filter((f) => f.field !== GraphField.output)
        .map((f) => Buffer.from(b.subarray(f.start, f.end)).toString('hex'));
    };
    expect(keep(out).slice(0, keep(bytes).length)).toEqual(keep(bytes));
    const result = await run(out, { x: new ort.Tensor('float32', Float32Array.from([1, 1, 1, 0, 0, 0]), [2, 3]) }, dir, 'appended.onnx');
    expect(Object.keys(result)).toEqual(['z']);
    expect(Array.from(result.z!.data as Float32Array)).toEqual([30, 80, 150, 10, 40, 90]);
    // A metadata key set again replaces the old entry (ONNX Runtime refuses duplicates): two entries, not three.
    const metadata = readFields(out).filter((f) => f.field === 14);
    expect(metadata.map((f) => Buffer.from(out.subarray(f.valueStart, f.valueEnd)).toString('latin1'))).toEqual([
      expect.stringContaining('replaced'),
      expect.stringContaining('extra'),
    ]);
  });

  it('lists the files of externally stored initializers', () => {
    const g = new GraphBuilder('ext');
    g.input('x', 'float32', [2]);
    g.rename(g.node('Add', ['x', 'w']), 'y');
    g.output('y', 'float32', [2]);
    const external = new ProtoWriter()
      .packedInts(1, [2])
      .int(2, 1)
      .string(8, 'w')
      .message(13, (e) => e.string(1, 'location').string(2, 'weights.bin'))
      .message(13, (e) => e.string(1, 'offset').string(2, '0'))
      .message(13, (e) => e.string(1, 'length').string(2, '8'))
      .int(14, 1)
      .finish();
    const bytes = appendToGraph(g.toBytes(), { nodes: [], initializers: [external], outputs: g.fragments().outputs });
    expect(readOnnxModel(bytes).externalDataFiles).toEqual(['weights.bin']);
  });

  it('refuses bytes that are not an ONNX model', () => {
    expect(() => readOnnxModel(new TextEncoder().encode('{"not": "onnx"}'))).toThrow(OnnxFormatError);
    expect(() => readOnnxModel(new Uint8Array([0x0a, 0x05, 0x01]))).toThrow(/runs past the end|not an ONNX model/);
    expect(() => readOnnxModel(new ProtoWriter().int(1, 8).finish())).toThrow(/expected one graph/);
  });
});
