// Tests src/index/hnsw/quantized-vectors.ts: int8 scores stay within their error bound of the exact dot product, scoreAll agrees with score and fills missing rows.
import { describe, expect, it } from 'vitest';
import { QuantizedVectors } from '../../../../src/index/hnsw/quantized-vectors.ts';
import { unitVectors } from '../../../helpers/vectors.ts';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

describe('QuantizedVectors', () => {
  const DIM = 512;
  const vectors = unitVectors(300, DIM, 3);
  const queries = unitVectors(20, DIM, 4).map((q) => Float64Array.from(q));

  it('scores within errorBound of the exact dot product, across chunk boundaries', () => {
    const qv = new QuantizedVectors(DIM);
    // Labels on both sides of the 4096-label chunk boundary, and far out (a lazily allocated chunk).
    const labels = vectors.map((_, i) => (i < 100 ? i : i < 200 ? 4000 + i : 40_000 + i));
    vectors.forEach((v, i) => qv.set(labels[i]!, v));
    let worst = 0;
    for (const q of queries) {
      vectors.forEach((v, i) => {
        const error = Math.abs(qv.score(labels[i]!, q) - dot(v, q));
        expect(error).toBeLessThanOrEqual(qv.errorBound(labels[i]!));
        worst = Math.max(worst, error / qv.errorBound(labels[i]!));
      });
    }
    // The bound is 6 sigma: over 6,000 scores the worst error sits well inside it, but not at zero.
    expect(worst).toBeGreaterThan(0.2);
    expect(worst).toBeLessThan(1);
  });

  it('a scaled vector quantizes like its unit direction', () => {
    const qv = new QuantizedVectors(DIM);
    qv.set(0, vectors[0]!);
    qv.set(1, Array.from(vectors[0]!, (x) => x * 7.5));
    expect(qv.score(1, queries[0]!)).toBeCloseTo(qv.score(0, queries[0]!), 12);
  });

  it('scoreAll equals score per label and fills the rows it lacks from vectorOf, once', () => {
    const qv = new QuantizedVectors(DIM);
    for (let i = 0; i < 50; i++) qv.set(i, vectors[i]!);
    const labels = Int32Array.from({ length: 120 }, (_, i) => i);
    const asked: number[] = [];
    const out = new Float64Array(labels.length);
    qv.scoreAll(labels, queries[1]!, out, (label) => (asked.push(label), vectors[label]!));
    expect(asked).toEqual(Array.from({ length: 70 }, (_, i) => 50 + i));
    labels.forEach((label, j) => {
      expect(qv.has(label)).toBe(true);
      expect(out[j]).toBe(qv.score(label, queries[1]!));
    });
    qv.scoreAll(labels, queries[2]!, out, (label) => (asked.push(label), vectors[label]!));
    expect(asked).toHaveLength(70);
  });
});
