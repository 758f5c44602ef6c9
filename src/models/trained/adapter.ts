/**
 * Adapter versions: the parent's ONNX graph with a learned linear residual map appended, so the
 * engine serves `normalize(v + v·W)` where v is the vector the parent serves for the same text.
 *
 * Appended after the parent's output X (the parent's own nodes are kept byte for byte; see
 * src/models/onnx/reader.ts for the surgery):
 *
 *   X = Cast(X, float)                        only when the parent outputs float16/double
 *   pooling, only when the parent's manifest says poolingInGraph: false (X is [b, t, d]),
 *   with m = Cast(attention_mask, float) [b, t], exactly as src/embedding/pooling.ts does it:
 *     mean: v = ReduceSum(X · m[:, :, None], axis 1) / max(ReduceSum(m, axis 1), 1)
 *     cls:  v = X[:, 0, :]
 *     max:  v = ReduceMax(Where(m[:, :, None], X, -inf), axis 1)
 *   v = v / max(‖v‖₂, 1e-30)                  only when the parent's manifest says normalize: true
 *   u = v + MatMul(v, W)                      W: [d, d] initializer, row vector convention
 *   output `adapted_embedding` = u            [b, d]
 *
 * The new manifest says poolingInGraph: true, normalize: true: the engine normalises u.
 *
 * W is also written on its own, as `adapter.bin` (little-endian float32, d·d values row-major,
 * checksummed in the manifest's `files` like every other file), so a re-embedding job can apply the
 * map to a parent generation's stored vectors without running the model (or parsing the ONNX file):
 * see readAdapterWeights.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidInputError, ModelIntegrityError, ModelLoadError } from '../../errors.ts';
import { attr, GraphBuilder, tensor } from '../onnx/graph.ts';
import { appendToGraph, OnnxFormatError, readOnnxModel, type OnnxModelInfo } from '../onnx/reader.ts';
import type { FileEntry, Manifest } from '../manifest.ts';
import { primaryOnnx, type ModelVersion } from '../registry.ts';
import {
  ADAPTER_WEIGHTS_PATH,
  completeLineage,
  publishTrainedVersion,
  safeRelativePath,
  stageCopy,
  stageParentFiles,
  stageWrite,
  verifyParent,
  type TrainedLineageInput,
} from './publish.ts';

export const ADAPTER_ONNX_PATH = 'onnx/model.onnx';
export { ADAPTER_WEIGHTS_PATH };
export const ADAPTER_OUTPUT = 'adapted_embedding';
/** Oldest default-domain opset the appended nodes are written for. */
export const MIN_ADAPTER_OPSET = 11;

const FLOAT = 1;
const DOUBLE = 11;
const FLOAT16 = 10;
const BOOL = 9;

function refuse(parent: ModelVersion, why: string): never {
  throw new InvalidInputError(`cannot build an adapter on ${parent.id}: ${why}`);
}

/** Op forms differ by opset: `axes` moved from attribute to input (ReduceSum/Unsqueeze at 13, other reductions at 18). */
class Ops {
  constructor(
    private readonly g: GraphBuilder,
    private readonly opset: number,
  ) {}

  reduce(op: 'ReduceSum' | 'ReduceMax' | 'ReduceL2', x: string, axes: readonly number[], keepdims: 0 | 1): string {
    const axesAsInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    return axesAsInput
      ? this.g.node(op, [x, this.g.constInt64(axes)], { keepdims: attr.int(keepdims) })
      : this.g.node(op, [x], { axes: attr.ints(axes), keepdims: attr.int(keepdims) });
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    return this.opset >= 13 ? this.g.node('Unsqueeze', [x, this.g.constInt64(axes)]) : this.g.node('Unsqueeze', [x], { axes: attr.ints(axes) });
  }
}

/** A name prefix no name of the parent's graph starts with, and an output name it does not use. */
function freshNames(info: OnnxModelInfo): { prefix: string; output: string } {
  const names = [...info.definedNames];
  let prefix = 'sextant_adapter/';
  for (let i = 2; names.some((n) => n.startsWith(prefix)); i++) prefix = `sextant_adapter${i}/`;
  let output = ADAPTER_OUTPUT;
  for (let i = 2; info.definedNames.has(output); i++) output = `${ADAPTER_OUTPUT}_${i}`;
  return { prefix, output };
}

export interface AdapterOnnx {
  readonly bytes: Uint8Array;
  readonly output: string;
  /** Files the graph reads its external initializers from, relative to the model file. */
  readonly externalDataFiles: readonly string[];
}

/**
 * The parent's graph (`parentBytes`, described by `manifest`) followed by pooling / normalisation as
 * the engine would do them, then u = v + vW. Throws InvalidInputError for a parent it cannot extend.
 */
export function buildAdapterOnnx(parent: ModelVersion, parentBytes: Uint8Array, W: Float32Array): AdapterOnnx {
  const manifest = parent.manifest;
  const d = manifest.dimensions;
  if (W.length !== d * d) refuse(parent, `W must hold ${d}×${d} = ${d * d} values (row-major), got ${W.length}`);
  if (!W.every(Number.isFinite)) refuse(parent, 'W holds NaN or infinite values');
  let info: OnnxModelInfo;
  try {
    info = readOnnxModel(parentBytes);
  } catch (err) {
    if (err instanceof OnnxFormatError) refuse(parent, `its ONNX file cannot be read: ${err.message}`);
    throw err;
  }
  const opset = info.defaultOpset;
  if (opset === undefined) refuse(parent, 'its ONNX graph imports no default (ai.onnx) operator set');
  if (opset < MIN_ADAPTER_OPSET) refuse(parent, `its ONNX graph uses opset ${opset}; adapters need opset ${MIN_ADAPTER_OPSET} or later`);
  if (info.irVersion !== undefined && info.irVersion < 4) {
    refuse(parent, `its ONNX IR version is ${info.irVersion}; initializers outside the graph inputs need IR 4 or later`);
  }
  const out = info.graphOutputs.find((o) => o.name === manifest.output);
  if (!out) refuse(parent, `its ONNX graph has no output '${manifest.output}' (it has ${info.graphOutputs.map((o) => o.name).join(', ') || 'none'})`);
  const rank = manifest.poolingInGraph ? 2 : 3;
  if (out.shape && out.shape.length !== rank) {
    refuse(parent, `output '${out.name}' has rank ${out.shape.length}; poolingInGraph: ${manifest.poolingInGraph} needs rank ${rank}`);
  }
  const last = out.shape?.at(-1);
  if (typeof last === 'number' && last > 0 && last !== d) refuse(parent, `output '${out.name}' is ${last} wide but the manifest says ${d} dimensions`);
  if (out.elemType !== undefined && ![FLOAT, FLOAT16, DOUBLE].includes(out.elemType)) {
    refuse(parent, `output '${out.name}' has element type ${out.elemType}; expected floating point`);
  }
  const mask = manifest.inputs.attentionMask;
  if (!manifest.poolingInGraph && !info.graphInputs.some((i) => i.name === mask)) {
    refuse(parent, `its ONNX graph has no input '${mask}' to pool with`);
  }

  const names = freshNames(info);
  const g = new GraphBuilder('adapter', { prefix: names.prefix });
  const ops = new Ops(g, opset);
  let x = manifest.output;
  if (out.elemType !== undefined && out.elemType !== FLOAT) x = g.node('Cast', [x], { to: attr.int(FLOAT) });

  let v = x;
  if (!manifest.poolingInGraph) {
    if (manifest.pooling === 'cls') {
      v = g.node('Gather', [x, g.constInt64(0)], { axis: attr.int(1) });
    } else {
      const m = g.node('Cast', [mask], { to: attr.int(FLOAT) });
      const m3 = ops.unsqueeze(m, [2]);
      if (manifest.pooling === 'mean') {
        const sum = ops.reduce('ReduceSum', g.node('Mul', [x, m3]), [1], 0);
        const count = g.node('Max', [ops.reduce('ReduceSum', m, [1], 1), g.constFloat(1)]);
        v = g.node('Div', [sum, count]);
      } else {
        const keep = g.node('Cast', [m3], { to: attr.int(BOOL) });
        v = ops.reduce('ReduceMax', g.node('Where', [keep, x, g.constFloat(-Infinity)]), [1], 0);
      }
    }
  }
  if (manifest.normalize) {
    const norm = g.node('Max', [ops.reduce('ReduceL2', v, [1], 1), g.constFloat(1e-30)]);
    v = g.node('Div', [v, norm]);
  }
  const w = g.initializer(`${names.prefix}W`, tensor(W, [d, d]));
  const u = g.node('Add', [v, g.node('MatMul', [v, w])]);
  g.rename(u, names.output);
  g.output(names.output, 'float32', ['batch', d]);

  const bytes = appendToGraph(parentBytes, { ...g.fragments(), metadata: { 'sextant.trained': 'adapter', 'sextant.parent': parent.id } });
  return { bytes, output: names.output, externalDataFiles: info.externalDataFiles };
}

/**
 * Writes `<collection>-adapter@N` (N the next free number): the parent's graph (its primary ONNX file,
 * see registry.ts primaryOnnx, when it has several) with v -> v + vW appended, the parent's tokenizer
 * and config files, and `lineage`. `W` is d×d row-major. Returns the published version.
 */
export async function writeAdapterModel(
  modelsDir: string,
  parent: ModelVersion,
  W: Float32Array,
  lineage: TrainedLineageInput,
): Promise<ModelVersion> {
  const full = completeLineage('adapter', parent, lineage);
  await verifyParent(modelsDir, parent);
  const source = primaryOnnx(parent.manifest);
  const sourceRel = safeRelativePath(source.path);
  if (!sourceRel) refuse(parent, `its ONNX path ${source.path} is outside its folder`);
  const sourcePath = join(parent.dir, sourceRel);
  let parentBytes: Uint8Array;
  try {
    parentBytes = await readFile(sourcePath);
  } catch (err) {
    throw new ModelLoadError(`cannot read ${sourcePath}: ${(err as Error).message}`);
  }
  const built = buildAdapterOnnx(parent, parentBytes, W);
  const others = parent.manifest.onnx.filter((o) => o !== source);

  return publishTrainedVersion(modelsDir, full.collection, 'adapter', async (staging) => {
    const onnx = await stageWrite(staging, ADAPTER_ONNX_PATH, built.bytes);
    const files = await stageParentFiles(staging, parent);
    files.push(await stageWrite(staging, ADAPTER_WEIGHTS_PATH, encodeWeights(W)));
    const listed = new Set(files.map((f) => f.path));
    // External initializers are found relative to the model file: copy them to the same place beside ours.
    const external: FileEntry[] = [];
    for (const loc of built.externalDataFiles) {
      const rel = safeRelativePath(loc);
      if (!rel) refuse(parent, `its ONNX graph reads external data from ${loc}, outside its folder`);
      const from = join(dirname(sourcePath), rel);
      if (!existsSync(from)) refuse(parent, `its ONNX graph reads external data from ${loc}, which is missing`);
      const to = `${dirname(ADAPTER_ONNX_PATH)}/${rel}`;
      if (listed.has(to)) continue;
      external.push(await stageCopy(staging, from, to));
      listed.add(to);
    }
    const variants =
      others.length > 0
        ? `; built from its primary ONNX file ${source.path} (${source.dtype}), its other variants (${others.map((o) => `${o.path} ${o.dtype}`).join(', ')}) have no adapter`
        : '';
    const body: Omit<Manifest, 'name' | 'version'> = {
      format: 1,
      dimensions: parent.manifest.dimensions,
      maxTokens: parent.manifest.maxTokens,
      pooling: parent.manifest.pooling,
      poolingInGraph: true,
      normalize: true,
      prefixes: parent.manifest.prefixes,
      tokenizer: parent.manifest.tokenizer,
      inputs: parent.manifest.inputs,
      output: built.output,
      onnx: [{ ...onnx, dtype: source.dtype }],
      files: [...files, ...external],
      source: {
        kind: 'trained',
        description: `adapter v -> normalize(v + vW) on ${parent.id}, trained on collection ${full.collection}${variants}`,
        parent: parent.id,
        parentOnnx: source.path,
      },
      createdAt: new Date().toISOString(),
      lineage: full,
    };
    return body;
  });
}

/** W as little-endian float32 bytes, whatever the machine's byte order. */
function encodeWeights(W: Float32Array): Uint8Array {
  const bytes = new Uint8Array(W.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < W.length; i++) view.setFloat32(i * 4, W[i]!, true);
  return bytes;
}

/** Whether `version` is an adapter that carries its W as `adapter.bin` (versions written before it did have only the graph). */
export function hasAdapterWeights(version: Pick<ModelVersion, 'manifest'>): boolean {
  return version.manifest.lineage?.kind === 'adapter' && version.manifest.files.some((f) => f.path === ADAPTER_WEIGHTS_PATH);
}

/**
 * The adapter's W (d×d row-major, d = the manifest's dimensions) read from its `adapter.bin`, after
 * checking the file's size and sha256 against the manifest. Throws InvalidInputError for a version
 * that is not an adapter, ModelLoadError when it has no adapter.bin (or it cannot be read), and
 * ModelIntegrityError when the file does not match its manifest entry.
 */
export async function readAdapterWeights(version: ModelVersion): Promise<Float32Array> {
  const m = version.manifest;
  if (m.lineage?.kind !== 'adapter') throw new InvalidInputError(`model ${version.id} is not an adapter`);
  const entry = m.files.find((f) => f.path === ADAPTER_WEIGHTS_PATH);
  if (!entry) throw new ModelLoadError(`model ${version.id} lists no ${ADAPTER_WEIGHTS_PATH} (an adapter written before its weights were stored beside the graph)`);
  const d = m.dimensions;
  const expected = d * d * 4;
  if (entry.bytes !== expected) {
    throw new ModelIntegrityError(`model ${version.id}: ${ADAPTER_WEIGHTS_PATH} is listed with ${entry.bytes} bytes, but a ${d}×${d} float32 matrix takes ${expected}`, {
      file: entry.path,
    });
  }
  const path = join(version.dir, ADAPTER_WEIGHTS_PATH);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ModelIntegrityError(`model ${version.id}: file ${entry.path} is missing`, { file: entry.path });
    throw new ModelLoadError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (bytes.length !== expected) {
    throw new ModelIntegrityError(`model ${version.id}: file ${entry.path} holds ${bytes.length} bytes, its manifest says ${expected}`, { file: entry.path });
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== entry.sha256) {
    throw new ModelIntegrityError(
      `model ${version.id}: file ${entry.path} does not match its manifest checksum (expected sha256 ${entry.sha256.slice(0, 12)}…, found ${actual.slice(0, 12)}…); it was modified or corrupted — restore it or rebuild the version`,
      { file: entry.path, expected: entry.sha256, actual },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const W = new Float32Array(d * d);
  for (let i = 0; i < W.length; i++) W[i] = view.getFloat32(i * 4, true);
  if (!W.every(Number.isFinite)) throw new ModelIntegrityError(`model ${version.id}: ${entry.path} holds NaN or infinite values`, { file: entry.path });
  return W;
}
