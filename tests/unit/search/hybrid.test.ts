// Tests src/search/hybrid.ts: fusion of dense and keyword rankings by min-max normalised scores weighted by alpha.
import { describe, expect, it } from 'vitest';
import { fuse, type FusedHit, type RankedScore } from '../../../src/search/hybrid.ts';
import { mulberry32 } from '../../../src/util/random.ts';

const list = (...pairs: [string, number][]): RankedScore[] => pairs.map(([id, score]) => ({ id, score }));
const idsOf = (hits: readonly FusedHit[]) => hits.map((h) => h.id);
const scoresOf = (hits: readonly FusedHit[]) => hits.map((h) => h.score);

describe('fuse', () => {
  it('adds alpha x normalised dense and (1 - alpha) x normalised keyword scores (hand-computed)', () => {
    // dense a .9 b .7 c .5 -> 1, .5, 0; keyword c 10 d 6 a 2 -> 1, .5, 0.
    // alpha .3: a = .3, b = .15, c = .7, d = .35.
    const dense = list(['a', 0.9], ['b', 0.7], ['c', 0.5]);
    const keyword = list(['c', 10], ['d', 6], ['a', 2]);
    const out = fuse(dense, keyword, 0.3, 10);
    expect(idsOf(out)).toEqual(['c', 'd', 'a', 'b']);
    const expected = [0.7, 0.35, 0.3, 0.15];
    out.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!, 12));
    // Each hit reports where it stood in each list (1-based) with its raw score, or null.
    expect(out.map(({ id, dense, keyword }) => ({ id, dense, keyword }))).toEqual([
      { id: 'c', dense: { rank: 3, score: 0.5 }, keyword: { rank: 1, score: 10 } },
      { id: 'd', dense: null, keyword: { rank: 2, score: 6 } },
      { id: 'a', dense: { rank: 1, score: 0.9 }, keyword: { rank: 3, score: 2 } },
      { id: 'b', dense: { rank: 2, score: 0.7 }, keyword: null },
    ]);
  });

  it('orders equal fused scores by id', () => {
    // dense a .75 b .5 c .25 -> 1, .5, 0 and keyword c 10 d 6 a 2 -> 1, .5, 0 (all exact in binary);
    // alpha .5: a = c = .5, b = d = .25.
    const out = fuse(list(['a', 0.75], ['b', 0.5], ['c', 0.25]), list(['c', 10], ['d', 6], ['a', 2]), 0.5, 10);
    expect(idsOf(out)).toEqual(['a', 'c', 'b', 'd']);
    expect(scoresOf(out)).toEqual([0.5, 0.5, 0.25, 0.25]);
  });

  it('compares ids by UTF-16 code units when breaking ties', () => {
    const dense = list(['a', 1], ['B', 1], ['9', 1], ['10', 1], ['é', 1]);
    expect(idsOf(fuse(dense, [], 1, 10))).toEqual(['10', '9', 'B', 'a', 'é']);
  });

  it('alpha 1 keeps the dense order; keyword-only documents follow at score 0, by id', () => {
    // dense z .9 y .5 x .1 -> 1, .5, 0; x sits at the dense minimum, so it ties with v and w at 0.
    const out = fuse(list(['z', 0.9], ['y', 0.5], ['x', 0.1]), list(['w', 3], ['v', 2], ['x', 1]), 1, 10);
    expect(idsOf(out)).toEqual(['z', 'y', 'v', 'w', 'x']);
    expect(scoresOf(out)).toEqual([1, 0.5, 0, 0, 0]);
  });

  it('alpha 0 keeps the keyword order; dense-only documents follow at score 0, by id', () => {
    // keyword p 9 q 7 r 4 s 1 -> 1, 6/8, 3/8, 0.
    const out = fuse(list(['s', 0.9], ['r', 0.8], ['t', 0.1]), list(['p', 9], ['q', 7], ['r', 4], ['s', 1]), 0, 10);
    expect(idsOf(out)).toEqual(['p', 'q', 'r', 's', 't']);
    expect(scoresOf(out)).toEqual([1, 0.75, 0.375, 0, 0]);
  });

  it('equal scores within a list are no longer distinguished: their list order gives way to id order', () => {
    // keyword ranks b before a, but both score 5: after normalising they are equal.
    const out = fuse([], list(['b', 5], ['a', 5], ['c', 1]), 0, 10);
    expect(idsOf(out)).toEqual(['a', 'b', 'c']);
    expect(out[0]!.keyword).toEqual({ rank: 2, score: 5 });
    expect(out[1]!.keyword).toEqual({ rank: 1, score: 5 });
  });

  it('a list whose scores are all equal normalises to 1 (a single hit too)', () => {
    const allEqual = fuse(list(['a', 0.4], ['b', 0.4]), [], 0.6, 10);
    expect(idsOf(allEqual)).toEqual(['a', 'b']);
    allEqual.forEach((h) => expect(h.score).toBeCloseTo(0.6, 12));
    const singles = fuse(list(['m', 0.2]), list(['n', -5]), 0.25, 10);
    expect(idsOf(singles)).toEqual(['n', 'm']);
    expect(singles[0]!.score).toBeCloseTo(0.75, 12);
    expect(singles[1]!.score).toBeCloseTo(0.25, 12);
  });

  it('only the spread of a list matters: negative scores and any scale fuse alike', () => {
    // dense a -1 b -3 -> 1, 0; keyword a 100 b 300 -> 0, 1; alpha .75: a .75, b .25.
    const out = fuse(list(['a', -1], ['b', -3]), list(['b', 300], ['a', 100]), 0.75, 10);
    expect(idsOf(out)).toEqual(['a', 'b']);
    expect(scoresOf(out)).toEqual([0.75, 0.25]);
  });

  it('k keeps the best k after sorting; k past the union returns the union; k 0 returns nothing', () => {
    const dense = list(['a', 0.9], ['b', 0.7], ['c', 0.5]);
    const keyword = list(['c', 10], ['d', 6], ['a', 2]);
    expect(idsOf(fuse(dense, keyword, 0.3, 2))).toEqual(['c', 'd']);
    expect(idsOf(fuse(dense, keyword, 0.3, 100))).toEqual(['c', 'd', 'a', 'b']);
    expect(fuse(dense, keyword, 0.3, 0)).toEqual([]);
    expect(fuse([], [], 0.5, 10)).toEqual([]);
  });

  it('matches a brute-force fusion on seeded random lists, and keeps its symmetries', () => {
    const r = mulberry32(0x5eed);
    const ALPHAS = [0, 0.125, 0.25, 0.5, 0.625, 0.875, 1];
    for (let round = 0; round < 400; round++) {
      const pool = Array.from({ length: 1 + Math.floor(r() * 12) }, (_, i) => `d${i}`);
      const randomList = (): RankedScore[] => {
        const chosen = pool.filter(() => r() < 0.6);
        // Small integer scores: plenty of ties, and exact arithmetic for the affine check below.
        return chosen.map((id) => ({ id, score: Math.floor(r() * 6) - 2 })).sort((a, b) => b.score - a.score);
      };
      const dense = randomList();
      const keyword = randomList();
      const alpha = ALPHAS[Math.floor(r() * ALPHAS.length)]!;
      const k = Math.floor(r() * 14);

      // Oracle: the documented formula, written out per id over the union.
      const norm = (l: RankedScore[], id: string): number => {
        const hit = l.find((h) => h.id === id);
        if (!hit) return 0;
        const min = Math.min(...l.map((h) => h.score));
        const max = Math.max(...l.map((h) => h.score));
        return max === min ? 1 : (hit.score - min) / (max - min);
      };
      const union = [...new Set([...dense, ...keyword].map((h) => h.id))];
      const expected = union
        .map((id) => ({ id, score: alpha * norm(dense, id) + (1 - alpha) * norm(keyword, id) }))
        .sort((a, b) => (a.score !== b.score ? b.score - a.score : a.id < b.id ? -1 : 1))
        .slice(0, k);

      const out = fuse(dense, keyword, alpha, k);
      expect(out.map(({ id, score }) => ({ id, score }))).toEqual(expected);
      expect(out.length).toBe(Math.min(k, union.length));
      for (const h of out) {
        expect(h.score).toBeGreaterThanOrEqual(0);
        expect(h.score).toBeLessThanOrEqual(1);
        const di = dense.findIndex((d) => d.id === h.id);
        expect(h.dense).toEqual(di < 0 ? null : { rank: di + 1, score: dense[di]!.score });
        const ki = keyword.findIndex((d) => d.id === h.id);
        expect(h.keyword).toEqual(ki < 0 ? null : { rank: ki + 1, score: keyword[ki]!.score });
        // The normalised parts the fused score is made of (explain shows them).
        expect([h.denseNormalised, h.keywordNormalised]).toEqual([norm(dense, h.id), norm(keyword, h.id)]);
      }
      // A smaller k is a prefix of a larger one.
      expect(fuse(dense, keyword, alpha, union.length + 1).slice(0, k)).toEqual(out);
      // Swapping the lists and the weights swaps the two sides and nothing else.
      const swapped = fuse(keyword, dense, 1 - alpha, k);
      expect(swapped.map(({ id, score, dense: d, keyword: w, denseNormalised: dn, keywordNormalised: kn }) => ({ id, score, dense: w, keyword: d, denseNormalised: kn, keywordNormalised: dn }))).toEqual(out);
      // Min-max normalisation: a positive affine change of one list's scores changes no fused score.
      const rescaled = fuse(
        dense.map((h) => ({ id: h.id, score: 4 * h.score - 3 })),
        keyword,
        alpha,
        k,
      );
      expect(rescaled.map(({ id, score }) => ({ id, score }))).toEqual(expected);
    }
  });
});
