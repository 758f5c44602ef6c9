import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingEngine, type EngineOptions } from '../../../src/embedding/engine.ts';
import { importHuggingFaceFolder } from '../../../src/models/hf-import.ts';
import { ModelRegistry } from '../../../src/models/registry.ts';
import { tinyBertWeights, writeTinyBert } from '../../../scripts/make-tiny-bert.ts';
import { bertForwardReference, clsPool, l2normalize, meanPool } from '../../helpers/bert-reference.ts';
import { maxAbsDiff } from '../../helpers/vectors.ts';

const options: EngineOptions = { device: 'cpu', threads: 2, batchTokens: 4096, batchWaitMs: 2, queueMax: 1024 };
const SEED = 11;

describe('Hugging Face sentence-transformers folder (tiny generated BERT)', () => {
  let root: string;
  let registry: ModelRegistry;
  let mean: EmbeddingEngine;
  let cls: EmbeddingEngine;
  const weights = tinyBertWeights(SEED);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sextant-hf-'));
    await writeTinyBert(join(root, 'src-mean'), { seed: SEED, pooling: 'mean' });
    await writeTinyBert(join(root, 'src-cls'), { seed: SEED, pooling: 'cls' });
    registry = new ModelRegistry(join(root, 'models'));
    const meanVersion = await importHuggingFaceFolder(registry, join(root, 'src-mean'), { name: 'tiny-bert', queryPrefix: 'query: ' });
    const clsVersion = await importHuggingFaceFolder(registry, join(root, 'src-cls'), { name: 'tiny-bert' });
    expect(meanVersion.id).toBe('tiny-bert@1');
    expect(clsVersion.id).toBe('tiny-bert@2');
    mean = await EmbeddingEngine.load(meanVersion, options, registry);
    cls = await EmbeddingEngine.load(clsVersion, options, registry);
  });
  afterAll(async () => {
    await mean?.close();
    await cls?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('records what it read from the folder in the manifest', () => {
    const m = mean.manifest;
    expect(m.dimensions).toBe(32);
    expect(m.maxTokens).toBe(64);
    expect(m.pooling).toBe('mean');
    expect(m.poolingInGraph).toBe(false);
    expect(m.normalize).toBe(true);
    expect(m.inputs.tokenTypeIds).toBe('token_type_ids');
    expect(m.tokenizer.kind).toBe('huggingface');
    expect(cls.manifest.pooling).toBe('cls');
  });

  it('matches a direct computation of the pooled output (mean and CLS)', async () => {
    const texts = ['hello world, testing!', 'the quick brown fox jumps over the lazy dog', 'a'];
    const [m, c] = await Promise.all([mean.embed(texts), cls.embed(texts)]);
    for (let i = 0; i < texts.length; i++) {
      const ids = [...mean.tokenize(texts[i]!).ids];
      expect(ids[0]).toBe(2); // [CLS]
      expect(ids.at(-1)).toBe(3); // [SEP]
      const tokens = bertForwardReference(weights, [ids], [ids.map(() => 1)])[0]!;
      const expectedMean = l2normalize(meanPool(tokens, ids.map(() => 1)));
      const expectedCls = l2normalize(clsPool(tokens));
      expect(maxAbsDiff(m.vectors[i]!, expectedMean)).toBeLessThan(1e-4);
      expect(maxAbsDiff(c.vectors[i]!, expectedCls)).toBeLessThan(1e-4);
      expect(m.tokenCounts[i]).toBe(ids.length);
    }
  });

  it('applies the query prefix to queries only', async () => {
    const q = await mean.embed(['wing flutter'], 'query');
    const d = await mean.embed(['wing flutter'], 'document');
    const prefixed = await mean.embed(['query: wing flutter'], 'document');
    expect(maxAbsDiff(q.vectors[0]!, prefixed.vectors[0]!)).toBeLessThan(1e-6);
    expect(maxAbsDiff(q.vectors[0]!, d.vectors[0]!)).toBeGreaterThan(1e-3);
  });

  it('truncates over-long text to maxTokens keeping [CLS] and [SEP], and flags it', async () => {
    const long = 'the wing of the aircraft '.repeat(40);
    const { ids, truncated } = mean.tokenize(long);
    expect(truncated).toBe(true);
    expect(ids).toHaveLength(64);
    expect(ids[0]).toBe(2);
    expect(ids.at(-1)).toBe(3);
    const out = await mean.embed([long]);
    expect(out.truncated).toEqual([true]);
    const tokens = bertForwardReference(weights, [[...ids]], [ids.map(() => 1)])[0]!;
    expect(maxAbsDiff(out.vectors[0]!, l2normalize(meanPool(tokens, ids.map(() => 1))))).toBeLessThan(1e-4);
  });

  it('refuses to import a folder that is not a model, and a version that exists', async () => {
    await expect(importHuggingFaceFolder(registry, join(root, 'nope'), { name: 'x' })).rejects.toThrow(/does not exist/);
    await expect(importHuggingFaceFolder(registry, join(root, 'src-mean'), { name: 'tiny-bert', version: '1' })).rejects.toThrow(/already exists/);
  });
});
