// src/training/adapter.ts: training the residual linear adapter, and applying it.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.ts';
import { applyAdapter, trainAdapter, type AdapterProgress } from '../../../src/training/adapter.ts';
import { TrainingCancelledError } from '../../../src/training/errors.ts';
import { problem } from '../../helpers/training-synthetic.ts';

const rotation = problem('rotation');
const nuisance = problem('nuisance');
// Small problems learn with a larger step and more epochs than the 512-d recipe (lr 1e-3, 4).
const quick = { epochs: 6, batchSize: 64, lr: 1e-2, threads: 1 } as const;
const bytes = (w: Float32Array) => Buffer.from(w.buffer, w.byteOffset, w.byteLength);

describe('trainAdapter', () => {
  it('queries only: learns to undo a rotation of the queries (validation MRR@10 rises)', async () => {
    const result = await trainAdapter({ ...rotation.train, documents: rotation.documents, validation: rotation.validation, sides: 'queries', ...quick });
    const first = result.history[0]!;
    const last = result.history.at(-1)!;
    expect(result.history).toHaveLength(6);
    expect(result.candidates).toBe('full');
    expect(last.validationMrrAfter! - first.validationMrrBefore!).toBeGreaterThan(0.3);
    expect(last.loss).toBeLessThan(first.loss);
  });

  it('both sides: learns to suppress nuisance dimensions (validation MRR@10 rises)', async () => {
    const result = await trainAdapter({ ...nuisance.train, documents: nuisance.documents, validation: nuisance.validation, ...quick });
    expect(result.history.at(-1)!.validationMrrAfter! - result.history[0]!.validationMrrBefore!).toBeGreaterThan(0.2);
  });

  it('sampled candidates (in-batch + hard + random negatives) above the full-softmax limit also learn', async () => {
    const result = await trainAdapter({
      ...nuisance.train,
      documents: nuisance.documents,
      validation: nuisance.validation,
      ...quick,
      fullSoftmaxLimit: 100,
      hardNegatives: 4,
      randomNegatives: 16,
    });
    expect(result.candidates).toBe('sampled');
    expect(result.history.at(-1)!.validationMrrAfter! - result.history[0]!.validationMrrBefore!).toBeGreaterThan(0.2);
  });

  it('low rank W = A B also learns', async () => {
    const result = await trainAdapter({ ...nuisance.train, documents: nuisance.documents, validation: nuisance.validation, ...quick, rank: 8 });
    expect(result.W).toHaveLength(32 * 32);
    expect(result.history.at(-1)!.validationMrrAfter! - result.history[0]!.validationMrrBefore!).toBeGreaterThan(0.2);
  });

  it('is deterministic: the same seed gives the same W bit for bit, another seed another W', async () => {
    const run = (seed: number) => trainAdapter({ ...nuisance.train, documents: nuisance.documents, epochs: 2, batchSize: 64, lr: 1e-2, seed });
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    expect(bytes(a.W).equals(bytes(b.W))).toBe(true);
    expect(bytes(a.W).equals(bytes(c.W))).toBe(false);
    const sampled = (seed: number) => trainAdapter({ ...nuisance.train, documents: nuisance.documents, epochs: 1, batchSize: 64, seed, fullSoftmaxLimit: 50, randomNegatives: 16 });
    expect(bytes((await sampled(3)).W).equals(bytes((await sampled(3)).W))).toBe(true);
  });

  it('reports progress per step and stops with TrainingCancelledError when aborted', async () => {
    const controller = new AbortController();
    const seen: AdapterProgress[] = [];
    const run = trainAdapter({
      ...nuisance.train,
      documents: nuisance.documents,
      ...quick,
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.step === 3) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(seen.map((p) => p.step)).toEqual([1, 2, 3]);
    expect(seen[0]).toMatchObject({ epoch: 1, epochs: 6, steps: 6 * Math.ceil(640 / 64) });
    expect(Number.isFinite(seen[0]!.loss)).toBe(true);
  });

  it('rejects inconsistent inputs', async () => {
    const documents = nuisance.documents;
    await expect(trainAdapter({ queries: nuisance.train.queries, positives: [0], documents })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(trainAdapter({ queries: [documents[0]!], positives: [documents.length], documents })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(trainAdapter({ queries: [new Float32Array(3)], positives: [0], documents })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(trainAdapter({ queries: [documents[0]!], positives: [0], documents, batchSize: 0 })).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('applyAdapter', () => {
  it('maps v to normalize(v + v W), row vectors', () => {
    // d = 2, W = [[0, 1], [0, 0]]: (x, y) -> (x, y + x), normalised.
    const W = Float32Array.from([0, 1, 0, 0]);
    const [a, b] = applyAdapter(W, [Float32Array.from([1, 0]), Float32Array.from([0, 1])]);
    expect(a![0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(a![1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect([...b!]).toEqual([0, 1]);
  });

  it('is the identity (up to normalisation) at W = 0', () => {
    const v = nuisance.documents.slice(0, 3);
    const out = applyAdapter(new Float32Array(32 * 32), v);
    out.forEach((o, i) => o.forEach((x, j) => expect(x).toBeCloseTo(v[i]![j]!, 6)));
  });

  it('rejects a vector of the wrong size', () => {
    expect(() => applyAdapter(new Float32Array(4), [new Float32Array(3)])).toThrow(InvalidInputError);
  });
});
