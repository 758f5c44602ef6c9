// src/training/static.ts: the static model (token table + SIF weights) distilled from a parent, then contrastive.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.ts';
import { TrainingCancelledError } from '../../../src/training/errors.ts';
import { sifWeights, staticVectors, trainStatic, type StaticProgress, type StaticTrainingOptions, type TokenIds } from '../../../src/training/static.ts';
import { mulberry32 } from '../../../src/util/random.ts';

const V = 120;
const D = 16;
/** Ids below NOISE are "noise" tokens: scattered over every text at random, and weighted heavily by the toy parent. */
const NOISE = 16;

/**
 * A toy parent: token t has a random vector u_t, and a text's vector is normalize(Σ_t c(t) u_t)
 * with c(t) = 6 for noise tokens and 1 otherwise — a known function of its token vectors that a
 * static table (rows c(t)/w_t · u_t) can represent exactly. Texts are a few content tokens plus six
 * random noise tokens, so the parent's (and the distilled) vectors are dominated by noise, which
 * contrastive training can learn to ignore.
 */
function toy(seed = 1, docs = 120) {
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
  const u = Array.from({ length: V }, () => Float32Array.from({ length: D }, gauss));
  const parentOf = (ids: TokenIds): Float32Array => {
    const v = new Float32Array(D);
    for (const t of ids) for (let j = 0; j < D; j++) v[j]! += (t < NOISE ? 6 : 1) * u[t]![j]!;
    const n = Math.hypot(...v) || 1;
    return v.map((x) => x / n);
  };
  const parent = async (ids: readonly number[]) => {
    const out = new Float32Array(ids.length * D);
    ids.forEach((t, i) => out.set(parentOf([t]), i * D));
    return out;
  };
  const noise = () => Array.from({ length: 6 }, () => Math.floor(r() * NOISE));
  const content = () => NOISE + Math.floor(r() * (V - NOISE));
  const documents: number[][] = Array.from({ length: docs }, () => [...Array.from({ length: 8 }, content), ...noise()]);
  const query = (doc: number[]) => [...Array.from({ length: 3 }, () => doc[Math.floor(r() * 8)]!), ...noise()];
  const queries: number[][] = [];
  const positives: number[] = [];
  const validation = { queries: [] as number[][], positives: [] as number[] };
  documents.forEach((doc, i) => {
    for (let k = 0; k < 3; k++) {
      if (i % 5 === 0) {
        validation.queries.push(query(doc));
        validation.positives.push(i);
      } else {
        queries.push(query(doc));
        positives.push(i);
      }
    }
  });
  const options: StaticTrainingOptions = {
    vocabulary: V,
    parent,
    documents,
    documentVectors: documents.map(parentOf),
    queries,
    queryVectors: queries.map(parentOf),
    positives,
    validation,
    threads: 1,
  };
  return { options, parentOf };
}

function meanCos(table: Float32Array, weights: Float32Array, texts: readonly TokenIds[], teacher: (ids: TokenIds) => Float32Array): number {
  const vectors = staticVectors(table, weights, texts);
  let total = 0;
  texts.forEach((ids, i) => {
    const t = teacher(ids);
    for (let j = 0; j < D; j++) total += vectors[i * D + j]! * t[j]!;
  });
  return total / texts.length;
}

const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
const quickDistill = { epochs: 30, batchSize: 64, lr: 3e-2 } as const;

describe('sifWeights', () => {
  it('is a / (a + p) with p the +1-smoothed document token frequency', () => {
    const w = sifWeights([[0, 0, 1], [0]], 3, 0.5);
    // counts 3, 1, 0; total 4 + V 3 = 7
    expect(Array.from(w)).toEqual([0.5 / (0.5 + 4 / 7), 0.5 / (0.5 + 2 / 7), 0.5 / (0.5 + 1 / 7)].map(Math.fround));
  });
});

describe('trainStatic', () => {
  it('builds the initial table from the parent run on each id alone (unit rows)', async () => {
    const { options, parentOf } = toy();
    const result = await trainStatic({ ...options, distill: { epochs: 0 }, contrastive: { epochs: 0 } });
    expect(result.dimensions).toBe(D);
    expect(result.table).toHaveLength(V * D);
    expect(result.weights).toHaveLength(V);
    expect(result.history).toEqual([]);
    for (const t of [0, 7, V - 1]) {
      const row = result.table.subarray(t * D, (t + 1) * D);
      const want = parentOf([t]);
      for (let j = 0; j < D; j++) expect(row[j]).toBeCloseTo(want[j]!, 5);
    }
  });

  it('distillation drives cos(static, parent) towards 1 on the collection', async () => {
    const { options, parentOf } = toy();
    const result = await trainStatic({ ...options, distill: quickDistill, contrastive: { epochs: 0 } });
    const texts = [...options.documents, ...options.queries];
    const before = meanCos(result.initialTable, result.weights, texts, parentOf);
    const after = meanCos(result.table, result.weights, texts, parentOf);
    expect(after).toBeGreaterThan(0.99);
    expect(after).toBeGreaterThan(before);
    expect(result.history.every((h) => h.phase === 'distill')).toBe(true);
    expect(result.history.at(-1)!.loss).toBeLessThan(result.history[0]!.loss);
  });

  it('contrastive training after distillation raises validation MRR@10', async () => {
    const { options } = toy();
    const result = await trainStatic({ ...options, distill: quickDistill, contrastive: { epochs: 20, batchSize: 64, lr: 1e-2, randomNegatives: 32 } });
    const phase = result.history.filter((h) => h.phase === 'contrastive');
    expect(phase).toHaveLength(20);
    expect(phase.at(-1)!.validationMrrAfter! - phase[0]!.validationMrrBefore!).toBeGreaterThan(0.15);
    expect(phase.at(-1)!.loss).toBeLessThan(phase[0]!.loss);
  });

  it('is deterministic: the same seed gives the same table bit for bit, another seed another', async () => {
    const { options } = toy();
    const run = (seed: number) => trainStatic({ ...options, seed, validation: undefined, distill: { epochs: 2, batchSize: 64, lr: 1e-2 }, contrastive: { epochs: 2, batchSize: 64, lr: 1e-2, randomNegatives: 16 } });
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    expect(bytes(a.table).equals(bytes(b.table))).toBe(true);
    expect(bytes(a.weights).equals(bytes(b.weights))).toBe(true);
    expect(bytes(a.table).equals(bytes(c.table))).toBe(false);
  });

  it('reports progress per step over both phases and stops with TrainingCancelledError when aborted', async () => {
    const { options } = toy();
    const controller = new AbortController();
    const seen: StaticProgress[] = [];
    const distillSteps = Math.ceil((options.documents.length + options.queries.length) / 64);
    const run = trainStatic({
      ...options,
      validation: undefined,
      distill: { epochs: 1, batchSize: 64 },
      contrastive: { epochs: 1, batchSize: 64 },
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.step === distillSteps + 1) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(seen.map((p) => p.step)).toEqual(Array.from({ length: distillSteps + 1 }, (_, i) => i + 1));
    expect(seen[0]).toMatchObject({ phase: 'distill', epoch: 1, epochs: 1, steps: distillSteps + Math.ceil(options.queries.length / 64) });
    expect(seen.at(-1)!.phase).toBe('contrastive');
    const aborted = new AbortController();
    aborted.abort();
    await expect(trainStatic({ ...options, signal: aborted.signal })).rejects.toBeInstanceOf(TrainingCancelledError);
  });

  it('refuses bad input', async () => {
    const { options } = toy();
    const bad: Partial<StaticTrainingOptions>[] = [
      { documents: [[0, V]], documentVectors: [options.documentVectors[0]!], queries: [], queryVectors: [], positives: [] },
      { queries: [[-1]], queryVectors: [options.queryVectors[0]!], positives: [0] },
      { positives: options.positives.map(() => options.documents.length) },
      { queryVectors: options.queryVectors.slice(1) },
      { documentVectors: options.documentVectors.map((v) => v.subarray(1)) },
      { parent: new Float32Array(V * D + 1) },
      { vocabulary: 0 },
      { distill: { batchSize: 0 } },
      { contrastive: { temperature: 0 } },
      { documents: [], documentVectors: [] },
    ];
    for (const b of bad) await expect(trainStatic({ ...options, ...b })).rejects.toBeInstanceOf(InvalidInputError);
  });
});
