// Tests src/lifecycle/training/fairness.ts: the fairness check's options and its decision on given rankings (pure; trainCollection's use of it is in train.test.ts).
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../../src/errors.ts';
import { exposureAt } from '../../../../src/lifecycle/audit/exposure.ts';
import { groupDocuments } from '../../../../src/lifecycle/audit/groups.ts';
import { checkFairnessOptions, DEFAULT_FAIRNESS_MARGIN, fairnessCheck } from '../../../../src/lifecycle/training/fairness.ts';
import { trainingGate } from '../../../../src/lifecycle/training/gate.ts';

/** 20 documents: a0..a9 in group 'a', b0..b9 in group 'b'; one without the field. */
const table = groupDocuments(
  [...Array.from({ length: 10 }, (_, i) => ({ id: `a${i}`, metadata: { g: 'a' } })), ...Array.from({ length: 10 }, (_, i) => ({ id: `b${i}`, metadata: { g: 'b' } })), { id: 'x', metadata: {} }],
  'g',
  'c',
);
/** A ranking of 10 alternating from `first`. */
const alternating = (first: 'a' | 'b') => Array.from({ length: 10 }, (_, r) => `${r % 2 === 0 ? first : first === 'a' ? 'b' : 'a'}${Math.floor(r / 2)}`);
const options = { groupBy: 'g', margin: 0.05, mode: 'dense' as const, seed: 1 };

describe('checkFairnessOptions', () => {
  it('resolves the default margin and refuses a blank field, the reserved field and a bad margin', () => {
    expect(checkFairnessOptions(undefined)).toBeUndefined();
    expect(checkFairnessOptions({ groupBy: 'source' })).toEqual({ groupBy: 'source', margin: DEFAULT_FAIRNESS_MARGIN });
    expect(checkFairnessOptions({ groupBy: 'source', margin: 0 })).toEqual({ groupBy: 'source', margin: 0 });
    for (const bad of [{ groupBy: '' }, { groupBy: '  ' }, { groupBy: '__proto__' }, { groupBy: 's', margin: -0.01 }, { groupBy: 's', margin: 11 }, { groupBy: 's', margin: Number.NaN }]) {
      expect(() => checkFairnessOptions(bad), JSON.stringify(bad)).toThrow(InvalidInputError);
    }
    expect(() => checkFairnessOptions({ groupBy: 's', margin: -1 })).toThrow(/fairness\.margin must be a number from 0 to 10/);
  });
});

describe('fairnessCheck', () => {
  it('passes rankings that keep each group at its share, with the figures of both sides', () => {
    const before = [alternating('a'), alternating('b')];
    const out = fairnessCheck(table, before, before, options);
    expect(out.passed).toBe(true);
    expect(out.queries).toEqual({ before: 2, after: 2 });
    expect(out.groups.map((g) => g.value).sort()).toEqual(['a', 'b']);
    for (const g of out.groups) {
      expect(g.before.value).toBeCloseTo(1, 12); // a-first and b-first average to parity
      expect(g.after.value).toBeCloseTo(g.before.value, 12);
      expect(g.collection_share).toBe(0.5);
      expect(g.documents).toBe(10);
    }
    expect(out.before!.disparity).toBeCloseTo(0, 12);
    expect(out.change).toBeCloseTo(0, 12);
    expect(out.text).toMatch(/^fairness by 'g' \(dense top 10\), 2 queries, 2 groups: disparity \(largest \|exposure ÷ collection share - 1\|\) 0\.000 \(group '[ab]', 10 documents: exposure ÷ collection share 1\.000, .* -> 0\.000 .*: [+-]0\.000 <= margin 0\.05$/);
  });

  it("refuses rankings under which the field's disparity grows by more than the margin, naming the group and both figures", () => {
    const before = [alternating('a'), alternating('b')];
    const after = [alternating('a'), alternating('a')]; // 'a' first for every query
    const out = fairnessCheck(table, before, after, options);
    // Exposure of 'a' when it holds ranks 1, 3, 5, 7, 9 of 10: its share of the summed discounts.
    let odd = 0;
    let all = 0;
    for (let r = 1; r <= 10; r++) {
      all += exposureAt(r);
      if (r % 2 === 1) odd += exposureAt(r);
    }
    const ratio = odd / all / 0.5;
    const a = out.groups.find((g) => g.value === 'a')!;
    const b = out.groups.find((g) => g.value === 'b')!;
    expect(a.after.value).toBeCloseTo(ratio, 12);
    expect(b.after.value).toBeCloseTo(2 - ratio, 12); // two equal groups: their ratios average 1
    expect(out.before!.disparity).toBeCloseTo(0, 12);
    expect(out.after!.disparity).toBeCloseTo(ratio - 1, 12);
    expect(out.change).toBeCloseTo(ratio - 1, 12);
    expect(ratio - 1).toBeGreaterThan(0.05);
    expect(out.passed).toBe(false);
    expect(out.text).toContain(`-> ${(ratio - 1).toFixed(3)} (group '${out.after!.group}', 10 documents: exposure ÷ collection share ${(out.after!.group === 'a' ? ratio : 2 - ratio).toFixed(3)}`);
    expect(out.text).toMatch(/: \+0\.\d{3} > margin 0\.05$/);
    // The same move within a wider margin passes.
    expect(fairnessCheck(table, before, after, { ...options, margin: 0.2 }).passed).toBe(true);
    // A move towards parity is never refused, even at margin 0.
    expect(fairnessCheck(table, after, before, { ...options, margin: 0 }).passed).toBe(true);
    expect(fairnessCheck(table, after, before, { ...options, margin: 0 }).change).toBeLessThan(0);
  });

  it("reads the field's figure, not each group's: one group moving away while the worst comes closer passes", () => {
    // Three groups of 10 (a, b, c), one query. Parent: a at ranks 1, 3, 4, 5 (ratio 1.530), b at 2, 6, 7 (0.872), c at 8-10 (0.598).
    // Trained: a at 2, 5, 8, 10 (1.071), b at 3, 4, 7 (0.835), c at 1, 6, 9 (1.094): a and c come close to parity, b moves away.
    const three = groupDocuments(['a', 'b', 'c'].flatMap((g) => Array.from({ length: 10 }, (_, i) => ({ id: `${g}${i}`, metadata: { g } }))), 'g', 'c');
    const ranking = (at: Record<string, number[]>) => {
      const out: string[] = [];
      for (const [g, ranks] of Object.entries(at)) ranks.forEach((r, i) => (out[r - 1] = `${g}${i}`));
      return out;
    };
    const parent = ranking({ a: [1, 3, 4, 5], b: [2, 6, 7], c: [8, 9, 10] });
    const trained = ranking({ a: [2, 5, 8, 10], b: [3, 4, 7], c: [1, 6, 9] });
    const out = fairnessCheck(three, [parent], [trained], { ...options, margin: 0 });
    const g = (v: string) => out.groups.find((x) => x.value === v)!;
    expect(Math.abs(g('b').after.value - 1)).toBeGreaterThan(Math.abs(g('b').before.value - 1)); // 'b' moved away
    expect(out.after!.disparity).toBeLessThan(out.before!.disparity);
    expect(g('b').after.value).toBeCloseTo(0.8346, 4);
    expect(out.before).toEqual({ disparity: expect.closeTo(0.5302, 4), group: 'a' });
    expect(out.after).toEqual({ disparity: expect.closeTo(0.1654, 4), group: 'b' });
    expect(out.passed).toBe(true);
  });

  it('refuses when no held-out query reaches a document with the field', () => {
    const out = fairnessCheck(table, [['x'], ['x']], [alternating('a')], options);
    expect(out.passed).toBe(false);
    expect(out.groups).toEqual([]);
    expect(out.text).toMatch(/with the parent, no held-out query's top 10 holds a document with the field \(20 of the collection's documents have it\)/);
  });

  it("is a line of the training gate's reason: a refusal fails a gate the figures pass", () => {
    const fairness = fairnessCheck(table, [alternating('a'), alternating('b')], [alternating('a'), alternating('a')], options);
    const figures = (x: number) => ({ pseudo: { dense: { 'ndcg@10': x, 'mrr@10': x }, hybrid: { 'ndcg@10': x, 'mrr@10': x } } });
    const gate = trainingGate(figures(0.5), figures(0.6), { mode: 'dense', margin: 0.005, pseudoQueries: 50, fairness });
    expect(gate.passed).toBe(false);
    expect(gate.reason).toBe(`gate failed: ${fairness.text}; (ok: held-out pseudo-queries (50 queries) dense nDCG@10 0.5000 -> 0.6000 (+0.1000) >= margin 0.005)`);
  });
});
