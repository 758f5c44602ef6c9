// src/models/trained/adapter.ts: adapter versions (parent graph + pooling/normalisation + v -> v + vW) on tiny generated BERTs.
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyBertVocab, writeTinyBert } from '../../../../scripts/make-tiny-bert.ts';
import { EmbeddingEngine } from '../../../../src/embedding/engine.ts';
import { describeFile } from '../../../../src/models/files.ts';
import { importHuggingFaceFolder } from '../../../../src/models/hf-import.ts';
import { MANIFEST_FILE, manifestSchema, type Manifest } from '../../../../src/models/manifest.ts';
import { GraphBuilder, tensor } from '../../../../src/models/onnx/graph.ts';
import { ProtoWriter } from '../../../../src/models/onnx/protobuf.ts';
import { appendToGraph, readOnnxModel } from '../../../../src/models/onnx/reader.ts';
import { ModelIntegrityError, ModelLoadError } from '../../../../src/errors.ts';
import { ModelRegistry, type ModelVersion } from '../../../../src/models/registry.ts';
import { ADAPTER_OUTPUT, ADAPTER_WEIGHTS_PATH, hasAdapterWeights, readAdapterWeights, writeAdapterModel } from '../../../../src/models/trained/adapter.ts';
import { nextTrainedVersion } from '../../../../src/models/trained/publish.ts';
import { adapterError, ENGINE_OPTIONS, lineageFor, maxAbsDiff, randomMatrix, TEXTS } from './fixtures.ts';

const D = 32;

async function withEngines<T>(registry: ModelRegistry, a: ModelVersion, b: ModelVersion, use: (a: EmbeddingEngine, b: EmbeddingEngine) => Promise<T>): Promise<T> {
  const [ea, eb] = await Promise.all([EmbeddingEngine.load(a, ENGINE_OPTIONS, registry), EmbeddingEngine.load(b, ENGINE_OPTIONS, registry)]);
  try {
    return await use(ea, eb);
  } finally {
    await Promise.all([ea.close(), eb.close()]);
  }
}

/** A version folder beside `from`, with `from`'s files, its manifest changed by `edit`. */
async function cloneVersion(registry: ModelRegistry, from: ModelVersion, name: string, edit: (m: Manifest) => Manifest): Promise<ModelVersion> {
  const dir = join(registry.dir, name, '1');
  await cp(from.dir, dir, { recursive: true });
  const manifest = manifestSchema.parse(edit({ ...from.manifest, name, version: '1' }));
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
  return { id: `${name}@1`, dir, manifest };
}

describe('adapter versions', () => {
  let root: string;
  let registry: ModelRegistry;
  let meanParent: ModelVersion;
  let clsParent: ModelVersion;
  let maxParent: ModelVersion;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sextant-adapter-'));
    await writeTinyBert(join(root, 'src-mean'), { seed: 5, pooling: 'mean' });
    await writeTinyBert(join(root, 'src-cls'), { seed: 6, pooling: 'cls' });
    registry = new ModelRegistry(join(root, 'models'));
    meanParent = await importHuggingFaceFolder(registry, join(root, 'src-mean'), { name: 'tiny-mean', queryPrefix: 'query: ', documentPrefix: 'passage: ' });
    clsParent = await importHuggingFaceFolder(registry, join(root, 'src-cls'), { name: 'tiny-cls' });
    maxParent = await importHuggingFaceFolder(registry, join(root, 'src-mean'), { name: 'tiny-max', pooling: 'max', normalize: false });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('serves normalize(p + p·W) for mean pooling, queries and documents, in padded batches', async () => {
    expect(meanParent.manifest.poolingInGraph).toBe(false);
    const W = randomMatrix(D, D, 1, 0.3);
    const adapter = await writeAdapterModel(registry.dir, meanParent, W, lineageFor('mean-docs'));
    expect(adapter.id).toBe('mean-docs-adapter@1');
    await withEngines(registry, meanParent, adapter, async (parent, served) => {
      expect(await adapterError(parent, served, W, TEXTS, 'document')).toBeLessThan(1e-5);
      expect(await adapterError(parent, served, W, TEXTS, 'query')).toBeLessThan(1e-5);
      // W is not a no-op: the adapter's vectors are not the parent's.
      const [p, a] = await Promise.all([parent.embed(TEXTS), served.embed(TEXTS)]);
      expect(maxAbsDiff(p.vectors[1]!, a.vectors[1]!)).toBeGreaterThan(1e-2);
    });
  });

  it('serves normalize(p + p·W) for CLS pooling and for max pooling of an unnormalised parent', async () => {
    const W = randomMatrix(D, D, 2, 0.3);
    const cls = await writeAdapterModel(registry.dir, clsParent, W, lineageFor('cls-docs'));
    await withEngines(registry, clsParent, cls, async (parent, served) => {
      expect(await adapterError(parent, served, W, TEXTS, 'document')).toBeLessThan(1e-5);
    });
    expect(maxParent.manifest.normalize).toBe(false);
    const max = await writeAdapterModel(registry.dir, maxParent, W, lineageFor('max-docs'));
    await withEngines(registry, maxParent, max, async (parent, served) => {
      // The parent serves max-pooled vectors unnormalised: the map applies to those.
      expect(await adapterError(parent, served, W, TEXTS, 'document')).toBeLessThan(1e-5);
    });
  });

  it('W = 0 serves the parent\'s vectors', async () => {
    const adapter = await writeAdapterModel(registry.dir, meanParent, new Float32Array(D * D), lineageFor('zero'));
    await withEngines(registry, meanParent, adapter, async (parent, served) => {
      for (const kind of ['query', 'document'] as const) {
        const [p, a] = await Promise.all([parent.embed(TEXTS, kind), served.embed(TEXTS, kind)]);
        for (let i = 0; i < TEXTS.length; i++) expect(maxAbsDiff(a.vectors[i]!, p.vectors[i]!)).toBeLessThan(1e-5);
      }
    });
  });

  it('writes a real version: manifest with lineage, copied tokenizer files, checksums that verify, the parent\'s other settings', async () => {
    const lineage = lineageFor('lineage-docs', { teacher: 'tiny-cls@1' });
    const adapter = await writeAdapterModel(registry.dir, meanParent, randomMatrix(D, D, 3, 0.1), lineage);
    const resolved = await registry.resolve(adapter.id);
    await registry.verify(resolved);
    const m = resolved.manifest;
    expect(m.lineage).toEqual({ ...lineage, kind: 'adapter', parent: 'tiny-mean@1', createdAt: m.lineage!.createdAt });
    expect(m.source.kind).toBe('trained');
    expect(m.source.parent).toBe('tiny-mean@1');
    expect(m.poolingInGraph).toBe(true);
    expect(m.normalize).toBe(true);
    expect(m.output).toBe(ADAPTER_OUTPUT);
    expect(m.prefixes).toEqual(meanParent.manifest.prefixes);
    expect(m.tokenizer).toEqual(meanParent.manifest.tokenizer);
    expect(m.inputs).toEqual(meanParent.manifest.inputs);
    expect(m.maxTokens).toBe(meanParent.manifest.maxTokens);
    expect(m.dimensions).toBe(D);
    // The parent's files, copied, and W on its own (see the adapter.bin test below).
    expect(m.files.map((f) => f.path)).toEqual([...meanParent.manifest.files.map((f) => f.path), ADAPTER_WEIGHTS_PATH]);
    for (const f of m.files.filter((f) => f.path !== ADAPTER_WEIGHTS_PATH)) {
      expect(await readFile(join(resolved.dir, f.path))).toEqual(await readFile(join(meanParent.dir, f.path)));
    }
    // The file on disk is the manifest the registry reads; nothing is left in staging.
    expect(manifestSchema.parse(JSON.parse(await readFile(join(resolved.dir, MANIFEST_FILE), 'utf8')))).toEqual(m);
    expect((await readdir(join(registry.dir, 'lineage-docs-adapter'))).filter((e) => e.startsWith('.'))).toEqual([]);
    // The graph serves only the new output; the parent's are gone.
    const info = readOnnxModel(await readFile(join(resolved.dir, m.onnx[0]!.path)));
    expect(info.graphOutputs.map((o) => o.name)).toEqual([ADAPTER_OUTPUT]);
    // A changed file fails verification like any other version.
    await writeFile(join(resolved.dir, 'tokenizer.json'), '{}');
    await expect(registry.verify(resolved)).rejects.toThrow(/does not match its manifest checksum/);
  });

  it('writes W as adapter.bin (little-endian float32, row-major, checksummed) and reads it back exactly', async () => {
    const W = randomMatrix(D, D, 11, 0.3);
    const adapter = await writeAdapterModel(registry.dir, meanParent, W, lineageFor('weights-docs'));
    const entry = adapter.manifest.files.find((f) => f.path === ADAPTER_WEIGHTS_PATH)!;
    expect(entry).toEqual(await describeFile(adapter.dir, ADAPTER_WEIGHTS_PATH));
    expect(entry.bytes).toBe(D * D * 4);
    const bytes = await readFile(join(adapter.dir, ADAPTER_WEIGHTS_PATH));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(Float32Array.from({ length: D * D }, (_, i) => view.getFloat32(i * 4, true))).toEqual(W);
    expect(hasAdapterWeights(adapter)).toBe(true);
    expect(hasAdapterWeights(meanParent)).toBe(false);
    expect(await readAdapterWeights(await registry.resolve(adapter.id))).toEqual(W);
    await registry.verify(adapter);

    // Built on an adapter: its own W, not a copy of the parent's.
    const W2 = randomMatrix(D, D, 12, 0.3);
    const stacked = await writeAdapterModel(registry.dir, adapter, W2, lineageFor('weights-docs'));
    expect(stacked.manifest.files.filter((f) => f.path === ADAPTER_WEIGHTS_PATH)).toHaveLength(1);
    expect(await readAdapterWeights(stacked)).toEqual(W2);

    // Not an adapter, or one without adapter.bin: clear errors.
    await expect(readAdapterWeights(meanParent)).rejects.toThrow(/model tiny-mean@1 is not an adapter/);
    const old = { ...adapter, manifest: { ...adapter.manifest, files: adapter.manifest.files.filter((f) => f.path !== ADAPTER_WEIGHTS_PATH) } };
    expect(hasAdapterWeights(old)).toBe(false);
    await expect(readAdapterWeights(old)).rejects.toThrow(ModelLoadError);

    // A changed or truncated file is refused, like any file that does not match its manifest.
    const changed = Buffer.from(bytes);
    changed[5]! ^= 1;
    await writeFile(join(adapter.dir, ADAPTER_WEIGHTS_PATH), changed);
    await expect(readAdapterWeights(adapter)).rejects.toThrow(/adapter.bin does not match its manifest checksum/);
    await expect(registry.verify(adapter)).rejects.toThrow(/adapter.bin does not match its manifest checksum/);
    await writeFile(join(adapter.dir, ADAPTER_WEIGHTS_PATH), bytes.subarray(4));
    await expect(readAdapterWeights(adapter)).rejects.toThrow(ModelIntegrityError);
    await expect(readAdapterWeights(adapter)).rejects.toThrow(/holds 4092 bytes, its manifest says 4096/);
  });

  it('numbers versions per collection: 1, 2, … counting folders, not reusing numbers', async () => {
    expect((await nextTrainedVersion(registry.dir, 'numbered', 'adapter')).id).toBe('numbered-adapter@1');
    const W = new Float32Array(D * D);
    const first = await writeAdapterModel(registry.dir, meanParent, W, lineageFor('numbered'));
    const second = await writeAdapterModel(registry.dir, meanParent, W, lineageFor('numbered'));
    expect([first.id, second.id]).toEqual(['numbered-adapter@1', 'numbered-adapter@2']);
    // Debris that took a number (no manifest) is skipped, and a staging folder is not a version.
    await mkdir(join(registry.dir, 'numbered-adapter', '5'), { recursive: true });
    await mkdir(join(registry.dir, 'numbered-adapter', '.staging-1-abcdef01'), { recursive: true });
    expect((await nextTrainedVersion(registry.dir, 'numbered', 'adapter')).version).toBe('6');
    expect((await nextTrainedVersion(registry.dir, 'numbered', 'static')).version).toBe('1');
    const third = await writeAdapterModel(registry.dir, meanParent, W, lineageFor('numbered'));
    expect(third.id).toBe('numbered-adapter@6');
    expect((await registry.resolve('numbered-adapter')).id).toBe('numbered-adapter@6');
  });

  it('refuses what it cannot adapt, with a clear error, and leaves nothing behind', async () => {
    await expect(writeAdapterModel(registry.dir, meanParent, new Float32Array(D * D - 1), lineageFor('refused'))).rejects.toThrow(
      /cannot build an adapter on tiny-mean@1: W must hold 32×32 = 1024 values/,
    );
    await expect(writeAdapterModel(registry.dir, meanParent, new Float32Array(D * D), lineageFor('refused', { parent: 'tiny-cls@1' }))).rejects.toThrow(
      /lineage.parent is tiny-cls@1 but the model is built from tiny-mean@1/,
    );
    await expect(writeAdapterModel(registry.dir, meanParent, new Float32Array(D * D), { ...lineageFor('refused'), seed: 1.5 })).rejects.toThrow(/invalid lineage: seed/);
    const wrongOutput = await cloneVersion(registry, meanParent, 'wrong-output', (m) => ({ ...m, output: 'pooler_output' }));
    await expect(writeAdapterModel(registry.dir, wrongOutput, new Float32Array(D * D), lineageFor('refused'))).rejects.toThrow(
      /cannot build an adapter on wrong-output@1: its ONNX graph has no output 'pooler_output' \(it has last_hidden_state\)/,
    );
    const wrongRank = await cloneVersion(registry, meanParent, 'wrong-rank', (m) => ({ ...m, poolingInGraph: true }));
    await expect(writeAdapterModel(registry.dir, wrongRank, new Float32Array(D * D), lineageFor('refused'))).rejects.toThrow(/has rank 3; poolingInGraph: true needs rank 2/);
    const notOnnx = await cloneVersion(registry, meanParent, 'not-onnx', (m) => m);
    await writeFile(join(notOnnx.dir, 'onnx', 'model.onnx'), 'not a model');
    const notOnnxManifest = { ...notOnnx.manifest, onnx: [{ ...(await describeFile(notOnnx.dir, 'onnx/model.onnx')), dtype: 'fp32' as const }] };
    await expect(writeAdapterModel(registry.dir, { ...notOnnx, manifest: notOnnxManifest }, new Float32Array(D * D), lineageFor('refused'))).rejects.toThrow(
      /cannot build an adapter on not-onnx@1: its ONNX file cannot be read/,
    );
    // A parent whose files do not match its manifest is not built upon.
    await expect(writeAdapterModel(registry.dir, notOnnx, new Float32Array(D * D), lineageFor('refused'))).rejects.toThrow(/does not match its manifest checksum/);
    expect(existsSync(join(registry.dir, 'refused-adapter')) ? await readdir(join(registry.dir, 'refused-adapter')) : []).toEqual([]);
  });

  it('builds on a parent whose ONNX keeps its weights in an external data file, copying that file', async () => {
    // Parent: token_embeddings = Gather(emb, input_ids), emb stored in onnx/model.onnx_data.
    const vocab = tinyBertVocab().length;
    const emb = randomMatrix(vocab, D, 9, 1);
    const g = new GraphBuilder('external');
    g.input('input_ids', 'int64', ['batch', 'tokens']);
    g.input('attention_mask', 'int64', ['batch', 'tokens']);
    g.input('token_type_ids', 'int64', ['batch', 'tokens']);
    g.rename(g.node('Gather', ['emb', 'input_ids']), 'token_embeddings');
    g.output('token_embeddings', 'float32', ['batch', 'tokens', D]);
    const initializer = new ProtoWriter()
      .packedInts(1, [vocab, D])
      .int(2, 1)
      .string(8, 'emb')
      .message(13, (e) => e.string(1, 'location').string(2, 'model.onnx_data'))
      .message(13, (e) => e.string(1, 'offset').string(2, '0'))
      .message(13, (e) => e.string(1, 'length').string(2, String(emb.byteLength)))
      .int(14, 1)
      .finish();
    const bytes = appendToGraph(g.toBytes(), { nodes: [], initializers: [initializer], outputs: g.fragments().outputs });
    const dir = join(registry.dir, 'external', '1');
    await cp(meanParent.dir, dir, { recursive: true });
    await writeFile(join(dir, 'onnx', 'model.onnx'), bytes);
    await writeFile(join(dir, 'onnx', 'model.onnx_data'), new Uint8Array(emb.buffer));
    const manifest = manifestSchema.parse({
      ...meanParent.manifest,
      name: 'external',
      version: '1',
      output: 'token_embeddings',
      onnx: [{ ...(await describeFile(dir, 'onnx/model.onnx')), dtype: 'fp32' }],
    });
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
    const parent = await registry.resolve('external@1');

    const W = randomMatrix(D, D, 4, 0.3);
    const adapter = await writeAdapterModel(registry.dir, parent, W, lineageFor('external-docs'));
    expect(adapter.manifest.files.map((f) => f.path)).toContain('onnx/model.onnx_data');
    await registry.verify(adapter);
    await withEngines(registry, parent, adapter, async (p, served) => {
      expect(await adapterError(p, served, W, TEXTS, 'document')).toBeLessThan(1e-5);
    });
  });

  it('builds from the primary (fp32) ONNX file of a parent with several variants, and says so', async () => {
    // The int8 entry (listed first) is really the CLS model: building from it would serve other vectors.
    const variants = await cloneVersion(registry, meanParent, 'variants', (m) => m);
    await cp(join(clsParent.dir, 'onnx', 'model.onnx'), join(variants.dir, 'onnx', 'model_int8.onnx'));
    const int8 = { ...(await describeFile(variants.dir, 'onnx/model_int8.onnx')), dtype: 'int8' as const };
    const manifest = manifestSchema.parse({ ...variants.manifest, onnx: [int8, ...variants.manifest.onnx] });
    await writeFile(join(variants.dir, MANIFEST_FILE), JSON.stringify(manifest));
    const parent = await registry.resolve('variants@1');
    const W = randomMatrix(D, D, 10, 0.3);
    const adapter = await writeAdapterModel(registry.dir, parent, W, lineageFor('variants-docs'));
    expect(adapter.manifest.onnx).toHaveLength(1);
    expect(adapter.manifest.onnx[0]!.dtype).toBe('fp32');
    expect(adapter.manifest.source.parentOnnx).toBe('onnx/model.onnx');
    expect(adapter.manifest.source.description).toMatch(/built from its primary ONNX file onnx\/model.onnx \(fp32\), its other variants \(onnx\/model_int8.onnx int8\) have no adapter/);
    await withEngines(registry, parent, adapter, async (p, served) => {
      expect(p.manifest.onnx[0]!.dtype).toBe('int8');
      expect(await adapterError(p, served, W, TEXTS, 'document')).toBeLessThan(1e-5);
    });
  });

  /** A parent computing token_embeddings = Gather(emb, input_ids) at `opset`, with the tiny BERT's tokenizer. */
  async function gatherParent(name: string, opset: number, pooling: Manifest['pooling']): Promise<ModelVersion> {
    const g = new GraphBuilder('gather');
    g.input('input_ids', 'int64', ['batch', 'tokens']);
    g.input('attention_mask', 'int64', ['batch', 'tokens']);
    g.input('token_type_ids', 'int64', ['batch', 'tokens']);
    const emb = g.initializer('emb', tensor(randomMatrix(tinyBertVocab().length, D, opset, 1), [tinyBertVocab().length, D]));
    g.rename(g.node('Gather', [emb, 'input_ids']), 'token_embeddings');
    g.output('token_embeddings', 'float32', ['batch', 'tokens', D]);
    const version = await cloneVersion(registry, meanParent, name, (m) => m);
    await writeFile(join(version.dir, 'onnx', 'model.onnx'), g.toBytes({ opset }));
    const manifest = manifestSchema.parse({
      ...version.manifest,
      pooling,
      output: 'token_embeddings',
      onnx: [{ ...(await describeFile(version.dir, 'onnx/model.onnx')), dtype: 'fp32' }],
    });
    await writeFile(join(version.dir, MANIFEST_FILE), JSON.stringify(manifest));
    return registry.resolve(`${name}@1`);
  }

  it.each([11, 13, 18])('writes the pooling and normalisation nodes in the form of the parent\'s opset (%i)', async (opset) => {
    for (const pooling of ['mean', 'max'] as const) {
      const parent = await gatherParent(`opset${opset}-${pooling}`, opset, pooling);
      const W = randomMatrix(D, D, opset, 0.3);
      const adapter = await writeAdapterModel(registry.dir, parent, W, lineageFor(`opset${opset}`));
      await withEngines(registry, parent, adapter, async (p, served) => {
        expect(await adapterError(p, served, W, TEXTS, 'document')).toBeLessThan(1e-5);
      });
    }
  });

  it('refuses a parent whose opset is older than the appended nodes are written for', async () => {
    const parent = await gatherParent('opset10', 10, 'mean');
    await expect(writeAdapterModel(registry.dir, parent, new Float32Array(D * D), lineageFor('old'))).rejects.toThrow(
      /cannot build an adapter on opset10@1: its ONNX graph uses opset 10; adapters need opset 11 or later/,
    );
  });

  it('builds on an adapter (the new names do not clash with the parent\'s)', async () => {
    const W1 = randomMatrix(D, D, 7, 0.2);
    const W2 = randomMatrix(D, D, 8, 0.2);
    const first = await writeAdapterModel(registry.dir, meanParent, W1, lineageFor('stacked'));
    const second = await writeAdapterModel(registry.dir, first, W2, lineageFor('stacked'));
    expect(second.id).toBe('stacked-adapter@2');
    expect(second.manifest.lineage?.parent).toBe('stacked-adapter@1');
    await withEngines(registry, first, second, async (parent, served) => {
      expect(await adapterError(parent, served, W2, TEXTS, 'document')).toBeLessThan(1e-5);
    });
  });
});
