// src/models/trained (adapter.ts, static.ts) on USE-Lite: our converter's graph (pooling in graph) as the parent, its SentencePiece tokenizer for static versions.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EmbeddingEngine } from '../../../../src/embedding/engine.ts';
import { loadTokenizer } from '../../../../src/embedding/tokenizer.ts';
import { ModelRegistry, type ModelVersion } from '../../../../src/models/registry.ts';
import { writeAdapterModel } from '../../../../src/models/trained/adapter.ts';
import { tokenizerIdCount, writeStaticModel } from '../../../../src/models/trained/static.ts';
import { adapterError, ENGINE_OPTIONS, lineageFor, maxAbsDiff, normalized, randomMatrix, TEXTS } from './fixtures.ts';

describe('trained versions of USE-Lite', () => {
  let root: string;
  /** Where the trained versions go: a private models dir, so the shared one stays as the other files expect it. */
  let registry: ModelRegistry;
  let useLite: ModelVersion;
  let parentEngine: EmbeddingEngine;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sextant-trained-use-lite-'));
    registry = new ModelRegistry(join(root, 'models'));
    const shared = new ModelRegistry(inject('modelsDir'));
    useLite = await shared.resolve('use-lite@1');
    parentEngine = await EmbeddingEngine.load(useLite, ENGINE_OPTIONS, shared);
  });
  afterAll(async () => {
    await parentEngine?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('an adapter serves normalize(p + p·W) for queries and documents; W = 0 serves USE-Lite itself', async () => {
    expect(useLite.manifest.poolingInGraph).toBe(true);
    const d = useLite.manifest.dimensions;
    const W = randomMatrix(d, d, 31, 0.05);
    const adapter = await writeAdapterModel(registry.dir, useLite, W, lineageFor('use-docs'));
    const zero = await writeAdapterModel(registry.dir, useLite, new Float32Array(d * d), lineageFor('use-docs'));
    expect([adapter.id, zero.id]).toEqual(['use-docs-adapter@1', 'use-docs-adapter@2']);
    await registry.verify(adapter);
    expect(adapter.manifest.tokenizer.kind).toBe('use-sentencepiece');
    const [served, identity] = await Promise.all([EmbeddingEngine.load(adapter, ENGINE_OPTIONS, registry), EmbeddingEngine.load(zero, ENGINE_OPTIONS, registry)]);
    try {
      expect(await adapterError(parentEngine, served, W, TEXTS, 'query')).toBeLessThan(1e-5);
      expect(await adapterError(parentEngine, served, W, TEXTS, 'document')).toBeLessThan(1e-5);
      const [p, a, z] = await Promise.all([parentEngine.embed(TEXTS), served.embed(TEXTS), identity.embed(TEXTS)]);
      for (let i = 0; i < TEXTS.length; i++) {
        expect(maxAbsDiff(z.vectors[i]!, p.vectors[i]!)).toBeLessThan(1e-5);
        expect(maxAbsDiff(a.vectors[i]!, p.vectors[i]!)).toBeGreaterThan(1e-3);
      }
    } finally {
      await Promise.all([served.close(), identity.close()]);
    }
  });

  it('a static version with USE-Lite\'s SentencePiece tokenizer serves normalize(Σ_t w[id_t]·table[id_t])', async () => {
    const V = await tokenizerIdCount(useLite.dir);
    expect(V).toBeGreaterThan(1000);
    const d = 16;
    const table = randomMatrix(V!, d, 41, 1);
    const weights = Float32Array.from(randomMatrix(V!, 1, 42, 1), (x) => Math.abs(x) + 0.05);
    const version = await writeStaticModel(registry.dir, useLite, table, weights, lineageFor('use-docs', { teacher: useLite.id }));
    expect(version.id).toBe('use-docs-static@1');
    expect(version.manifest.lineage?.teacher).toBe('use-lite@1');
    await registry.verify(version);
    const tokenizer = await loadTokenizer(version.dir, version.manifest);
    const engine = await EmbeddingEngine.load(version, ENGINE_OPTIONS, registry);
    try {
      const out = await engine.embed(TEXTS);
      for (let i = 0; i < TEXTS.length; i++) {
        const ids = tokenizer.encode(TEXTS[i]!).ids;
        const acc = new Array<number>(d).fill(0);
        for (const id of ids) for (let j = 0; j < d; j++) acc[j]! += weights[id]! * table[id * d + j]!;
        expect(maxAbsDiff(out.vectors[i]!, normalized(acc))).toBeLessThan(1e-5);
      }
    } finally {
      await engine.close();
    }
  });
});
