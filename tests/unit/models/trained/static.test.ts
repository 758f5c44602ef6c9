// src/models/trained/static.ts: static token-vector versions (Gather, weighted sum over the mask) with a tiny generated BERT's tokenizer.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyBertVocab } from '../../../../scripts/make-tiny-bert.ts';
import { EmbeddingEngine } from '../../../../src/embedding/engine.ts';
import { loadTokenizer } from '../../../../src/embedding/tokenizer.ts';
import { ModelRegistry, type ModelVersion } from '../../../../src/models/registry.ts';
import { nextTrainedVersion } from '../../../../src/models/trained/publish.ts';
import { STATIC_OUTPUT, tokenizerIdCount, writeStaticModel } from '../../../../src/models/trained/static.ts';
import { importTinyBert } from '../../../helpers/tiny-models.ts';
import { ENGINE_OPTIONS, lineageFor, maxAbsDiff, normalized, randomMatrix, TEXTS } from './fixtures.ts';

/** normalize(Σ_t w[id_t] · table[id_t]) in float64. */
function staticReference(ids: readonly number[], table: Float32Array, weights: Float32Array, d: number): number[] {
  const acc = new Array<number>(d).fill(0);
  for (const id of ids) for (let j = 0; j < d; j++) acc[j]! += weights[id]! * table[id * d + j]!;
  return normalized(acc);
}

describe('static versions', () => {
  let root: string;
  let registry: ModelRegistry;
  let parent: ModelVersion;
  const V = tinyBertVocab().length;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sextant-static-'));
    registry = new ModelRegistry(join(root, 'models'));
    parent = await importTinyBert(registry, { name: 'tiny', seed: 3 });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('serves normalize(Σ_t w[id_t]·table[id_t]) over the tokenizer\'s ids, queries and documents, in padded batches', async () => {
    const d = 24;
    const table = randomMatrix(V, d, 21, 1);
    const weights = Float32Array.from(randomMatrix(V, 1, 22, 1), (x) => Math.abs(x) + 0.05);
    const version = await writeStaticModel(registry.dir, parent, table, weights, lineageFor('static-docs', { teacher: parent.id }));
    expect(version.id).toBe('static-docs-static@1');
    expect(version.manifest.dimensions).toBe(d);
    const tokenizer = await loadTokenizer(version.dir, version.manifest);
    const engine = await EmbeddingEngine.load(version, ENGINE_OPTIONS, registry);
    try {
      for (const kind of ['query', 'document'] as const) {
        const out = await engine.embed(TEXTS, kind);
        for (let i = 0; i < TEXTS.length; i++) {
          const ids = tokenizer.encode(version.manifest.prefixes[kind] + TEXTS[i]!).ids;
          expect(ids.length).toBeGreaterThan(2);
          expect(out.vectors[i]).toHaveLength(d);
          expect(maxAbsDiff(out.vectors[i]!, staticReference(ids, table, weights, d))).toBeLessThan(1e-5);
        }
      }
    } finally {
      await engine.close();
    }
  });

  it('writes a real version: the parent\'s tokenizer, inputs (token_type_ids accepted), maxTokens and prefixes; lineage; checksums', async () => {
    const lineage = lineageFor('static-real');
    const version = await writeStaticModel(registry.dir, parent, randomMatrix(V, 8, 1, 1), new Float32Array(V).fill(1), lineage);
    const resolved = await registry.resolve(version.id);
    await registry.verify(resolved);
    const m = resolved.manifest;
    expect(m.lineage).toEqual({ ...lineage, kind: 'static', parent: parent.id, createdAt: m.lineage!.createdAt });
    expect(m.source.kind).toBe('trained');
    expect(m).toMatchObject({ poolingInGraph: true, normalize: true, output: STATIC_OUTPUT, dimensions: 8 });
    expect(m.inputs).toEqual(parent.manifest.inputs);
    expect(m.inputs.tokenTypeIds).toBe('token_type_ids');
    expect(m.tokenizer).toEqual(parent.manifest.tokenizer);
    expect(m.maxTokens).toBe(parent.manifest.maxTokens);
    expect(m.prefixes).toEqual(parent.manifest.prefixes);
    expect(m.files.map((f) => f.path)).toEqual(parent.manifest.files.map((f) => f.path));
    for (const f of m.files) expect(await readFile(join(resolved.dir, f.path))).toEqual(await readFile(join(parent.dir, f.path)));
    // The engine loads it (it checks the graph takes every input the manifest names) and serves unit vectors.
    const engine = await EmbeddingEngine.load(resolved, ENGINE_OPTIONS, registry);
    try {
      const [v] = (await engine.embed(['hello world'])).vectors;
      expect(Math.hypot(...v!)).toBeCloseTo(1, 5);
    } finally {
      await engine.close();
    }
  });

  it('numbers versions per collection, separately from adapters', async () => {
    const table = randomMatrix(V, 4, 2, 1);
    const weights = new Float32Array(V).fill(1);
    const a = await writeStaticModel(registry.dir, parent, table, weights, lineageFor('count'));
    const b = await writeStaticModel(registry.dir, parent, table, weights, lineageFor('count'));
    expect([a.id, b.id]).toEqual(['count-static@1', 'count-static@2']);
    expect((await nextTrainedVersion(registry.dir, 'count', 'static')).id).toBe('count-static@3');
    expect((await nextTrainedVersion(registry.dir, 'count', 'adapter')).id).toBe('count-adapter@1');
  });

  it('refuses a table that does not cover the tokenizer, or does not match its weights', async () => {
    expect(await tokenizerIdCount(parent.dir)).toBe(V);
    await expect(writeStaticModel(registry.dir, parent, randomMatrix(V - 1, 4, 1, 1), new Float32Array(V - 1), lineageFor('bad'))).rejects.toThrow(
      new RegExp(`the table has ${V - 1} rows but tiny@1's tokenizer produces ids up to ${V - 1}`),
    );
    await expect(writeStaticModel(registry.dir, parent, new Float32Array(V * 4 + 1), new Float32Array(V), lineageFor('bad'))).rejects.toThrow(/not a multiple/);
    await expect(writeStaticModel(registry.dir, parent, new Float32Array(V * 4).fill(Number.NaN), new Float32Array(V), lineageFor('bad'))).rejects.toThrow(/NaN/);
    await expect(writeStaticModel(registry.dir, parent, new Float32Array(V * 4), new Float32Array(V), lineageFor('bad bad'))).rejects.toThrow(/cannot name a model/);
    expect((await nextTrainedVersion(registry.dir, 'bad', 'static')).version).toBe('1');
  });
});
