import { cp, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { EmbeddingEngine, type EngineOptions } from '../../../src/embedding/engine.ts';
import { EmptyTextError, ModelIntegrityError, OverloadedError } from '../../../src/errors.ts';
import { ModelRegistry } from '../../../src/models/registry.ts';
import { cosine, dot, maxAbsDiff } from '../../helpers/vectors.ts';

const options: EngineOptions = { device: 'cpu', threads: 2, batchTokens: 8192, batchWaitMs: 2, queueMax: 4096 };

describe('embedding engine on USE-Lite', () => {
  let registry: ModelRegistry;
  let engine: EmbeddingEngine;

  beforeAll(async () => {
    registry = new ModelRegistry(inject('modelsDir'));
    engine = await EmbeddingEngine.load(await registry.resolve('use-lite@1'), options, registry);
  });
  afterAll(async () => engine?.close());

  it('returns one normalized 512-d vector per text with token counts', async () => {
    const out = await engine.embed(['hello world', 'a somewhat longer sentence about aircraft wings']);
    expect(out.vectors).toHaveLength(2);
    for (const v of out.vectors) {
      expect(v).toHaveLength(512);
      expect(dot(v, v)).toBeCloseTo(1, 5);
    }
    expect(out.tokenCounts[0]).toBeGreaterThan(0);
    expect(out.tokenCounts[1]).toBeGreaterThan(out.tokenCounts[0]!);
    expect(out.truncated).toEqual([false, false]);
  });

  it('passes the semantic sanity check', async () => {
    const [reset, forgot, weather] = (
      await engine.embed([
        'How do I reset my password?',
        'I forgot my login credentials and need to change them',
        'What is the weather like in Paris today?',
      ])
    ).vectors;
    const related = cosine(reset!, forgot!);
    const unrelated = cosine(reset!, weather!);
    console.log(`semantic sanity: related ${related.toFixed(3)}, unrelated ${unrelated.toFixed(3)}`);
    expect(related).toBeGreaterThanOrEqual(0.5);
    expect(unrelated).toBeLessThanOrEqual(0.2);
  });

  it('gives each of many concurrent callers exactly its own vectors, batched together', async () => {
    const texts = Array.from({ length: 64 }, (_, i) => `caller ${i} asks about ${'boundary layer '.repeat(1 + (i % 9))}number ${i * 7}`);
    const alone: Float32Array[] = [];
    for (const t of texts.slice(0, 16)) alone.push((await engine.embed([t])).vectors[0]!);

    const batchSizes: number[] = [];
    engine.onBatch = (s) => batchSizes.push(s.items);
    const results = await Promise.all(texts.map((t, i) => engine.embed(i % 5 === 0 ? [t, t] : [t])));
    engine.onBatch = undefined;

    results.forEach((r, i) => {
      expect(r.vectors).toHaveLength(i % 5 === 0 ? 2 : 1);
      if (i < 16) expect(maxAbsDiff(r.vectors[0]!, alone[i]!)).toBeLessThan(1e-5);
    });
    // Distinct texts give distinct vectors: a mix-up between callers would show here.
    expect(cosine(results[1]!.vectors[0]!, results[2]!.vectors[0]!)).toBeLessThan(0.999);
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    expect(batchSizes.reduce((a, b) => a + b, 0)).toBe(texts.length + Math.ceil(texts.length / 5));
  });

  it('applies no prefix for USE-Lite, so query and document vectors agree', async () => {
    const q = await engine.embed(['wing flutter'], 'query');
    const d = await engine.embed(['wing flutter'], 'document');
    expect(maxAbsDiff(q.vectors[0]!, d.vectors[0]!)).toBeLessThan(1e-6);
  });

  it('rejects empty and whitespace-only text with a typed error and embeds nothing', async () => {
    await expect(engine.embed(['ok', ''])).rejects.toBeInstanceOf(EmptyTextError);
    await expect(engine.embed([' \n\t '])).rejects.toThrow(/text 0 is empty/);
  });

  it('truncates huge input, flags it, and matches the first 128 tokens', async () => {
    const words = Array.from({ length: 400_000 }, (_, i) => `w${i % 97}`).join(' ');
    const out = await engine.embed([words]);
    expect(out.truncated).toEqual([true]);
    expect(out.tokenCounts).toEqual([128]);
    expect(Math.hypot(...out.vectors[0]!)).toBeCloseTo(1, 5);
    // The same text cut short gives the same vector: truncation keeps the prefix.
    const prefix = words.slice(0, 3000);
    const short = await engine.embed([prefix]);
    expect(short.truncated).toEqual([true]);
    expect(maxAbsDiff(short.vectors[0]!, out.vectors[0]!)).toBeLessThan(1e-5);
  });

  it('refuses work beyond the queue limit with OverloadedError', async () => {
    const small = await EmbeddingEngine.load(await registry.resolve('use-lite@1'), { ...options, queueMax: 8 }, registry);
    try {
      await expect(small.embed(Array.from({ length: 9 }, (_, i) => `text ${i}`))).rejects.toBeInstanceOf(OverloadedError);
      const ok = await small.embed(Array.from({ length: 8 }, (_, i) => `text ${i}`));
      expect(ok.vectors).toHaveLength(8);
    } finally {
      await small.close();
    }
  });

  it('falls back to CPU when CUDA is requested but unavailable, says why, and embeds the same', async () => {
    const writes: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    let cuda: EmbeddingEngine | undefined;
    try {
      cuda = await EmbeddingEngine.load(await registry.resolve('use-lite@1'), { ...options, device: 'cuda' }, registry);
    } finally {
      spy.mockRestore();
    }
    try {
      expect(cuda.device).toBe('cpu');
      expect(cuda.fallbackReason).toMatch(/CUDA/);
      expect(writes.join('')).toMatch(/running on CPU/);
      const [a, b] = await Promise.all([cuda.embed(['fallback check']), engine.embed(['fallback check'])]);
      expect(maxAbsDiff(a.vectors[0]!, b.vectors[0]!)).toBeLessThan(1e-6);
    } finally {
      await cuda.close();
    }
  });
});

describe('model integrity', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sextant-integrity-'));
    await cp(join(inject('modelsDir'), 'use-lite', '1'), join(root, 'use-lite', '1'), { recursive: true });
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('refuses a modified ONNX file, naming it', async () => {
    const registry = new ModelRegistry(root);
    const version = await registry.resolve('use-lite@1');
    await expect(registry.verify(version)).resolves.toBeUndefined();
    const handle = await open(join(version.dir, 'onnx', 'model.onnx'), 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 5000);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, 5000);
    await handle.close();
    const load = EmbeddingEngine.load(version, options, registry);
    await expect(load).rejects.toBeInstanceOf(ModelIntegrityError);
    await expect(registry.verify(version)).rejects.toThrow(/onnx\/model\.onnx does not match its manifest checksum/);
  });
});
