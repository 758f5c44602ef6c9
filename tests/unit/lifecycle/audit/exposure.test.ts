// Tests src/lifecycle/audit/exposure.ts: the audit's arithmetic, against numbers computed by hand.
import { describe, expect, it } from 'vitest';
import {
  auditFigures,
  exposureAt,
  groupKey,
  groupValueOf,
  maxShareSumDeviation,
  meanShares,
  permutationFigures,
  quantile,
  queryExposureShares,
  queryRelevanceShares,
  type SparseShares,
} from '../../../../src/lifecycle/audit/exposure.ts';

const shares = (entries: [number, number][]): SparseShares => new Map(entries);
const LOG2_3 = Math.log2(3);

describe('exposureAt', () => {
  it('is the nDCG discount 1/log2(r+1)', () => {
    expect(exposureAt(1)).toBe(1);
    expect(exposureAt(2)).toBeCloseTo(1 / LOG2_3, 12); // 0.6309
    expect(exposureAt(3)).toBe(0.5);
    expect(exposureAt(7)).toBe(1 / 3);
  });
});

describe('groupValueOf / groupKey', () => {
  it('takes strings, finite numbers and booleans; nothing else forms a group', () => {
    expect(groupValueOf('a')).toBe('a');
    expect(groupValueOf(3)).toBe(3);
    expect(groupValueOf(false)).toBe(false);
    for (const v of [null, undefined, NaN, Infinity, [1], { a: 1 }]) expect(groupValueOf(v)).toBeUndefined();
  });

  it('keeps 1 and "1" apart', () => {
    expect(groupKey(1)).not.toBe(groupKey('1'));
    expect(groupKey(true)).not.toBe(groupKey('true'));
  });
});

describe('queryExposureShares', () => {
  it('sums each group over its ranks and normalises', () => {
    // ranks 1 and 3 -> group 0: 1 + 0.5 = 1.5; rank 2 -> group 1: 0.63093; total 2.13093
    const s = queryExposureShares([0, 1, 0])!;
    expect(s.get(0)).toBeCloseTo(1.5 / (1.5 + 1 / LOG2_3), 12); // 0.70392
    expect(s.get(1)).toBeCloseTo(1 / LOG2_3 / (1.5 + 1 / LOG2_3), 12); // 0.29609
    expect(s.get(0)).toBeCloseTo(0.70392, 4);
  });

  it('a hit without a group keeps its rank but takes no share', () => {
    // rank 2 -> group 1 (0.63093), rank 3 -> group 0 (0.5)
    const s = queryExposureShares([undefined, 1, 0])!;
    expect(s.get(1)).toBeCloseTo(0.55789, 4);
    expect(s.get(0)).toBeCloseTo(0.44211, 4);
    expect(s.size).toBe(2);
  });

  it('is undefined without any grouped hit', () => {
    expect(queryExposureShares([])).toBeUndefined();
    expect(queryExposureShares([undefined, undefined])).toBeUndefined();
  });
});

describe('queryRelevanceShares', () => {
  it('sums grades per group over judged documents that have one', () => {
    const groupOf = (id: string) => ({ a: 0, b: 1 })[id];
    const s = queryRelevanceShares(new Map([['a', 1], ['b', 2], ['c', 5]]), groupOf)!;
    expect(s.get(0)).toBeCloseTo(1 / 3, 12);
    expect(s.get(1)).toBeCloseTo(2 / 3, 12);
    expect(queryRelevanceShares(new Map([['c', 1]]), groupOf)).toBeUndefined();
  });
});

describe('meanShares / maxShareSumDeviation / quantile', () => {
  it('averages with absent groups counted 0', () => {
    expect(meanShares([shares([[0, 1]]), shares([[0, 0.25], [2, 0.75]])], 3)).toEqual([0.625, 0, 0.375]);
  });

  it('measures how far per-query shares are from summing to 1', () => {
    expect(maxShareSumDeviation([shares([[0, 0.5], [1, 0.5]])])).toBe(0);
    expect(maxShareSumDeviation([shares([[0, 0.5]]), shares([[0, 1]])])).toBe(0.5);
  });

  it('interpolates linearly', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
    expect(quantile([0, 10], 0.025)).toBeCloseTo(0.25, 12);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('auditFigures', () => {
  it('computes shares and both disparities (hand-computed)', () => {
    // 3 documents in group 0, 1 in group 1: collection shares 0.75 / 0.25.
    // exposure: q1 all to group 0, q2 all to group 1 -> 0.5 / 0.5 -> over collection 2/3 and 2.
    // relevance: q1 all group 0, q2 half/half -> 0.75 / 0.25 -> over relevance 2/3 and 2.
    const [g0, g1] = auditFigures({
      documents: [3, 1],
      exposure: [shares([[0, 1]]), shares([[1, 1]])],
      relevance: [shares([[0, 1]]), shares([[0, 0.5], [1, 0.5]])],
      resamples: 200,
      seed: 7,
    });
    expect(g0!.collection_share).toBe(0.75);
    expect(g1!.collection_share).toBe(0.25);
    expect(g0!.exposure_share).toBe(0.5);
    expect(g0!.relevance_share).toBe(0.75);
    expect(g1!.relevance_share).toBe(0.25);
    expect(g0!.exposure_over_collection.value).toBeCloseTo(2 / 3, 12);
    expect(g1!.exposure_over_collection.value).toBe(2);
    expect(g0!.exposure_over_relevance!.value).toBeCloseTo(2 / 3, 12);
    expect(g1!.exposure_over_relevance!.value).toBe(2);
    // Two queries: a resample's exposure share of group 1 is 0, 1/2 or 1 -> ratio 0, 2 or 4.
    const [lo, hi] = g1!.exposure_over_collection.ci;
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(4);
    expect(lo).toBeLessThan(2);
    expect(hi).toBeGreaterThan(2);
  });

  it('intervals collapse when every query is the same', () => {
    const q = shares([[0, 0.6], [1, 0.4]]);
    const [g0, g1] = auditFigures({ documents: [1, 1], exposure: [q, q, q], resamples: 50, seed: 1 });
    expect(g0!.exposure_over_collection.value).toBeCloseTo(1.2, 12);
    expect(g0!.exposure_over_collection.ci[0]).toBeCloseTo(1.2, 12);
    expect(g0!.exposure_over_collection.ci[1]).toBeCloseTo(1.2, 12);
    expect(g1!.exposure_over_collection.value).toBeCloseTo(0.8, 12);
    expect(g0!.relevance_share).toBeNull();
    expect(g0!.exposure_over_relevance).toBeNull();
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const exposure = Array.from({ length: 30 }, (_, i) => shares([[0, (i % 7) / 7], [1, 1 - (i % 7) / 7]]));
    const run = (seed: number) => auditFigures({ documents: [1, 1], exposure, resamples: 300, seed })[0]!.exposure_over_collection.ci;
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it('leaves queries without relevance out of the relevance mean, and a group without relevance has no ratio', () => {
    const [g0, g1] = auditFigures({
      documents: [1, 1],
      exposure: [shares([[0, 1]]), shares([[0, 0.5], [1, 0.5]])],
      relevance: [shares([[0, 1]]), undefined],
      resamples: 100,
      seed: 1,
    });
    expect(g0!.relevance_share).toBe(1);
    expect(g1!.relevance_share).toBe(0);
    expect(g0!.exposure_over_relevance!.value).toBe(0.75);
    expect(g1!.exposure_over_relevance).toBeNull();
  });

  it('a 95% interval covers the true ratio about 95% of the time (simulation)', () => {
    // Group 0's per-query share is uniform on [0, 1] (mean 0.5), collection share 0.5: true ratio 1.
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      let x = (t + 1) * 2654435761;
      const rnd = () => ((x = (Math.imul(x ^ (x >>> 13), 0x5bd1e995) + 0x6b43a9b5) >>> 0) / 4294967296);
      const exposure = Array.from({ length: 60 }, () => {
        const s = rnd();
        return shares([[0, s], [1, 1 - s]]);
      });
      const [lo, hi] = auditFigures({ documents: [1, 1], exposure, resamples: 300, seed: t })[0]!.exposure_over_collection.ci;
      if (lo <= 1 && 1 <= hi) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThanOrEqual(1);
  });
});

describe('permutationFigures', () => {
  it('two documents, one query reaching one of them: the ratio is 2 or 0 under relabelling (hand-computed)', () => {
    // Documents 0 (group 0) and 1 (group 1), collection shares 1/2 each; the query's only hit is
    // document 0, so group 0's ratio is 1 / 0.5 = 2 when it keeps the label, 0 when it does not.
    const [g0, g1] = permutationFigures({ labels: [0, 1], hits: [[{ doc: 0, exposure: 1 }]], resamples: 400, seed: 3 });
    expect(g0!.null_ci).toEqual([0, 2]);
    expect(g1!.null_ci).toEqual([0, 2]);
    // Every relabelling is as far from 1 as the observed 2: p = (400 + 1) / (400 + 1).
    expect(g0!.p_value).toBe(1);
  });

  it('a group reached far beyond its size has a small p-value; a mixed one does not', () => {
    // 20 documents, 10 per group; 30 queries each reaching documents 0..4 (all group 0) at ranks 1..5.
    const labels = Array.from({ length: 20 }, (_, i) => (i < 10 ? 0 : 1));
    const allZero = Array.from({ length: 30 }, () => [0, 1, 2, 3, 4].map((doc, r) => ({ doc, exposure: exposureAt(r + 1) })));
    const [biased] = permutationFigures({ labels, hits: allZero, resamples: 2000, seed: 1 });
    // Observed ratio 2 (group 0 has all the exposure); a random relabelling of 5 of 20 documents
    // gives all five to group 0 with probability C(10,5)/C(20,5) = 252/15504 = 1.6%, and all to
    // group 1 as often: p ≈ 0.033.
    expect(biased!.p_value).toBeGreaterThan(0.015);
    expect(biased!.p_value).toBeLessThan(0.06);
    const mixed = Array.from({ length: 30 }, () => [0, 10, 1, 11].map((doc, r) => ({ doc, exposure: exposureAt(r + 1) })));
    const [fair] = permutationFigures({ labels, hits: mixed, resamples: 2000, seed: 1 });
    expect(fair!.p_value).toBeGreaterThan(0.3);
    expect(fair!.null_ci[0]).toBeLessThan(1);
    expect(fair!.null_ci[1]).toBeGreaterThan(1);
  });

  it('is deterministic for a seed', () => {
    const labels = [0, 1, 0, 1, 2, 2];
    const hits = [[{ doc: 0, exposure: 1 }, { doc: 4, exposure: 0.5 }], [{ doc: 3, exposure: 1 }]];
    expect(permutationFigures({ labels, hits, resamples: 100, seed: 9 })).toEqual(permutationFigures({ labels, hits, resamples: 100, seed: 9 }));
  });
});
