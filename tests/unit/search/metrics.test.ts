// Tests src/search/metrics.ts: the ranking metrics nDCG@k, MRR@k and recall@k.
import { describe, expect, it } from 'vitest';
import { mrrAt, ndcgAt, recallAt } from '../../../src/search/metrics.ts';

describe('ranking metrics', () => {
  const rel = new Map([
    ['a', 3],
    ['b', 2],
    ['c', 1],
  ]);
  it('computes nDCG@k with linear gains and log2 discount', () => {
    expect(ndcgAt(10, ['a', 'b', 'c'], rel)).toBeCloseTo(1, 12);
    const dcg = 1 / Math.log2(2) + 3 / Math.log2(3);
    const idcg = 3 + 2 / Math.log2(3);
    expect(ndcgAt(2, ['c', 'a', 'b'], rel)).toBeCloseTo(dcg / idcg, 12);
    expect(ndcgAt(10, ['x', 'y'], rel)).toBe(0);
    expect(ndcgAt(10, ['a'], new Map())).toBe(0);
    expect(ndcgAt(10, ['a', 'a', 'a'], rel)).toBeCloseTo(3 / (3 + 2 / Math.log2(3) + 1 / 2), 12);
  });
  it('computes MRR@k and recall@k', () => {
    expect(mrrAt(10, ['x', 'c', 'a'], rel)).toBe(0.5);
    expect(mrrAt(1, ['x', 'c'], rel)).toBe(0);
    expect(recallAt(2, ['a', 'x', 'b'], rel)).toBeCloseTo(1 / 3, 12);
    expect(recallAt(10, ['a', 'b', 'c', 'a'], rel)).toBe(1);
  });
  it('counts a repeated id once and grades of 0 or less as not relevant', () => {
    const graded = new Map([
      ['a', 2],
      ['zero', 0],
      ['negative', -1],
    ]);
    // The duplicate 'x' takes no slot of k: 'a' is the second distinct result.
    expect(mrrAt(2, ['x', 'x', 'a'], graded)).toBe(0.5);
    expect(recallAt(2, ['x', 'x', 'a'], graded)).toBe(1);
    expect(mrrAt(10, ['zero', 'negative'], graded)).toBe(0);
    expect(ndcgAt(10, ['zero', 'negative', 'a'], graded)).toBeCloseTo(1 / Math.log2(4), 12);
    expect(recallAt(10, ['a'], new Map([['zero', 0]]))).toBe(0);
  });
});
