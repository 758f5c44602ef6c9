// src/models/trained/publish.ts and the manifest's `lineage`: names, numbering, lineage validation, atomic publishing.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineageSchema, manifestSchema, type Manifest } from '../../../../src/models/manifest.ts';
import { ModelRegistry, type ModelVersion } from '../../../../src/models/registry.ts';
import { completeLineage, nextTrainedVersion, publishTrainedVersion, stageWrite, trainedModelName, type ManifestBody } from '../../../../src/models/trained/publish.ts';
import { lineageFor } from './fixtures.ts';

const BASE: Omit<Manifest, 'name' | 'version' | 'onnx' | 'files'> = {
  format: 1,
  dimensions: 4,
  maxTokens: 16,
  pooling: 'mean',
  poolingInGraph: true,
  normalize: true,
  prefixes: { query: '', document: '' },
  tokenizer: { kind: 'huggingface' },
  inputs: { inputIds: 'input_ids', attentionMask: 'attention_mask' },
  output: 'sentence_embedding',
  source: { kind: 'generated', description: 'test' },
  createdAt: '2026-01-01T00:00:00.000Z',
};
const FILE = { path: 'onnx/model.onnx', sha256: '0'.repeat(64), bytes: 1, dtype: 'fp32' as const };
const PARENT: ModelVersion = { id: 'base@1', dir: '/nowhere', manifest: { ...BASE, name: 'base', version: '1', onnx: [FILE], files: [] } };

describe('trained-version lineage and publishing', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sextant-trained-publish-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('manifests without lineage still validate; lineage is strict and typed', () => {
    expect(manifestSchema.safeParse({ ...BASE, name: 'm', version: '1', onnx: [FILE], files: [] }).success).toBe(true);
    const lineage = completeLineage('adapter', PARENT, lineageFor('docs'));
    const trained = { ...BASE, name: 'docs-adapter', version: '1', onnx: [FILE], files: [], source: { kind: 'trained', description: 'x', parent: 'base@1' }, lineage };
    expect(manifestSchema.parse(trained).lineage).toEqual(lineage);
    expect(lineageSchema.safeParse({ ...lineage, extra: 1 }).success).toBe(false);
    expect(lineageSchema.safeParse({ ...lineage, data: { ...lineage.data, more: 1 } }).success).toBe(false);
    expect(lineageSchema.safeParse({ ...lineage, parent: 'no-version' }).success).toBe(false);
    expect(lineageSchema.safeParse({ ...lineage, kind: 'lora' }).success).toBe(false);
    expect(lineageSchema.safeParse({ ...lineage, data: { ...lineage.data, documents: -1 } }).success).toBe(false);
    expect(lineageSchema.safeParse({ ...lineage, hyperparameters: { nested: { a: 1 } } }).success).toBe(false);
    expect(lineageSchema.safeParse({ ...lineage, validation: { before: { ndcg: 'high' }, after: {} } }).success).toBe(false);
    expect(manifestSchema.safeParse({ ...trained, lineage: { ...lineage, teacher: 'x' } }).success).toBe(false);
  });

  it('completes the lineage from the call: kind, parent, createdAt', () => {
    const l = completeLineage('static', PARENT, lineageFor('docs', { createdAt: '2026-02-03T00:00:00.000Z' }));
    expect(l).toMatchObject({ kind: 'static', parent: 'base@1', collection: 'docs', createdAt: '2026-02-03T00:00:00.000Z' });
    expect(() => completeLineage('static', PARENT, lineageFor('docs', { parent: 'other@1' }))).toThrow(/lineage.parent is other@1/);
    expect(() => completeLineage('static', PARENT, { ...lineageFor('docs'), collection: '' })).toThrow(/invalid lineage: collection/);
  });

  it('names versions <collection>-<kind> and refuses collection names that cannot name a model', async () => {
    expect(trainedModelName('docs_2024', 'adapter')).toBe('docs_2024-adapter');
    expect(() => trainedModelName('has space', 'static')).toThrow(/cannot name a model/);
    expect(await nextTrainedVersion(join(root, 'absent'), 'docs', 'static')).toEqual({ name: 'docs-static', version: '1', id: 'docs-static@1' });
  });

  it('two writers at once get different numbers; a failed build leaves no folder', async () => {
    const modelsDir = join(root, 'race');
    const body = async (staging: string): Promise<ManifestBody> => ({ ...BASE, onnx: [{ ...(await stageWrite(staging, 'onnx/model.onnx', 'x')), dtype: 'fp32' }], files: [] });
    const [a, b] = await Promise.all([publishTrainedVersion(modelsDir, 'docs', 'adapter', body), publishTrainedVersion(modelsDir, 'docs', 'adapter', body)]);
    expect([a.id, b.id].sort()).toEqual(['docs-adapter@1', 'docs-adapter@2']);
    const registry = new ModelRegistry(modelsDir);
    for (const v of [a, b]) {
      await registry.verify(v);
      expect(JSON.parse(await readFile(join(v.dir, 'manifest.json'), 'utf8')).version).toBe(v.manifest.version);
    }
    await expect(
      publishTrainedVersion(modelsDir, 'docs', 'adapter', async (staging) => {
        await stageWrite(staging, 'partial.bin', 'x');
        throw new Error('training crashed');
      }),
    ).rejects.toThrow('training crashed');
    expect((await readdir(join(modelsDir, 'docs-adapter'))).sort()).toEqual(['1', '2']);
    expect(existsSync(join(modelsDir, 'docs-adapter', '3'))).toBe(false);
  });
});
