import { describe, expect, it } from 'vitest';
import { applyAdapter, packRows } from '../../../src/training/adapter.ts';
import { mapByAdapter, topKByDot } from '../../../src/training/dense.ts';
import { SessionCache } from '../../../src/training/sessions.ts';
import { mulberry32 } from '../../../src/util/random.ts';

function randomRows(n: number, d: number, seed: number): Float32Array[] {
  const next = mulberry32(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => next() * 2 - 1));
}

describe('dense retrieval for validation', () => {
  it('topKByDot returns the exact top k by dot product, best first, ties to the lower index', async () => {
    const d = 16;
    const docs = randomRows(300, d, 1);
    docs[200] = Float32Array.from(docs[100]!); // a tie: 100 must come before 200
    const queries = [...randomRows(299, d, 2), Float32Array.from(docs[100]!)]; // more than one graph batch
    const sessions = new SessionCache({ threads: 1 });
    try {
      const top = await topKByDot(sessions, packRows(queries, d), packRows(docs, d), d, 10);
      expect(top.k).toBe(10);
      queries.forEach((q, i) => {
        const scored = docs.map((doc, j) => ({ j, s: doc.reduce((a, x, t) => a + x * q[t]!, 0) })).sort((a, b) => b.s - a.s || a.j - b.j);
        const got = Array.from(top.indices.subarray(i * 10, (i + 1) * 10));
        // Float32 products may reorder near-equal scores; the sets and scores must agree.
        expect(new Set(got)).toEqual(new Set(scored.slice(0, 10).map((x) => x.j)));
        got.forEach((j, r) => expect(top.scores[i * 10 + r]).toBeCloseTo(scored.find((x) => x.j === j)!.s, 4));
      });
      const last = Array.from(top.indices.subarray(299 * 10, 299 * 10 + 2));
      expect(last).toEqual([100, 200]);
      // k above the document count gives every document.
      const all = await topKByDot(sessions, packRows(queries.slice(0, 2), d), packRows(docs.slice(0, 5), d), d, 100);
      expect(all.k).toBe(5);
      expect(new Set(all.indices.subarray(0, 5))).toEqual(new Set([0, 1, 2, 3, 4]));
    } finally {
      await sessions.release();
    }
  });

  it('mapByAdapter computes normalize(x + xW) as applyAdapter does', async () => {
    const d = 8;
    const next = mulberry32(3);
    const W = Float32Array.from({ length: d * d }, () => (next() - 0.5) * 0.2);
    const rows = randomRows(20, d, 4);
    const sessions = new SessionCache({ threads: 1 });
    try {
      const mapped = await mapByAdapter(sessions, W, packRows(rows, d), d);
      const expected = packRows(applyAdapter(W, rows), d);
      expect(mapped.length).toBe(expected.length);
      mapped.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 5));
      expect((await mapByAdapter(sessions, W, new Float32Array(0), d)).length).toBe(0);
    } finally {
      await sessions.release();
    }
  });
});
