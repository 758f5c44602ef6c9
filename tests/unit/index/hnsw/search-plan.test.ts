// Tests src/index/hnsw/search-plan.ts: exact scan vs graph walk, the ef each walk runs at, and the fallback when the graph comes back short.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HnswGraph } from '../../../../src/index/hnsw/graph.ts';
import { LabelMap } from '../../../../src/index/hnsw/labels.ts';
import { FILTER_EF_FACTOR, FILTER_EXACT_COST, exactScanLimit, runSearch, type HnswSearchStats, type SearchContext } from '../../../../src/index/hnsw/search-plan.ts';
import type { VectorHit } from '../../../../src/index/types.ts';
import { mulberry32 } from '../../../../src/util/random.ts';
import { matchesFilter, type Filter, type Metadata } from '../../../../src/values/filter.ts';
import { unitVectors } from '../../../helpers/vectors.ts';

const root = mkdtempSync(join(tmpdir(), 'sextant-search-plan-test-'));
let files = 0;
const opened: HnswGraph[] = [];
afterAll(async () => {
  for (const g of opened) await g.release().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

const cosine = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

interface Doc {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata?: Metadata;
}

/** Brute force: the ids of the k most similar docs (ties by id), optionally only those matching `filter`. */
function brute(docs: readonly Doc[], q: Float32Array, k: number, filter?: Filter): { id: string; score: number }[] {
  return docs
    .filter((d) => !filter || matchesFilter(filter, d.metadata))
    .map((d) => ({ id: d.id, score: cosine(q, d.vector) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, k);
}

interface GraphCall {
  readonly op: 'search' | 'exact';
  readonly k: number;
  readonly ef?: number;
  /** search: the labels the allowed bitmap lets through and its length; exact: the labels scanned. */
  readonly labels?: number[];
  readonly bitmapLength?: number;
}

interface Plan {
  readonly ctx: SearchContext;
  readonly stats: HnswSearchStats;
  readonly calls: GraphCall[];
  /** The filteredEf values the plan asked exactScanLimit about. */
  readonly limitAsked: number[];
}

/** A real graph in the graph worker holding `docs` at labels 0..n-1. */
async function graphOf(docs: readonly Doc[]): Promise<HnswGraph> {
  const dim = docs[0]!.vector.length;
  const graph = await HnswGraph.create({ dimensions: dim, maxElements: docs.length, M: 16, efConstruction: 200 });
  opened.push(graph);
  const points = new Float32Array(docs.length * dim);
  docs.forEach((d, i) => points.set(d.vector, i * dim));
  await graph.add(
    points,
    Int32Array.from(docs, (_, i) => i),
    docs.map((d) => d.id),
  );
  return graph;
}

/**
 * The search context runSearch reads: the real graph (its search/exact calls recorded on the
 * way through), a label map binding `bound` labels, and an exactScanLimit answering `limit`.
 */
function plan(
  graph: HnswGraph,
  docs: readonly Doc[],
  limit: (filteredEf: number) => number,
  bound: readonly number[] = docs.map((_, i) => i),
  postFilterEfFactor = 0,
): Plan {
  const labels = new LabelMap();
  for (const label of bound) labels.bind(docs[label]!.id, label, docs[label]!.metadata, false);
  const calls: GraphCall[] = [];
  const limitAsked: number[] = [];
  const recorded = Object.create(graph) as HnswGraph;
  recorded.search = (point, k, ef, allowed) => {
    const through: number[] = [];
    allowed?.forEach((flag, label) => flag === 1 && through.push(label));
    calls.push({ op: 'search', k, ef, ...(allowed ? { labels: through, bitmapLength: allowed.length } : {}) });
    return graph.search(point, k, ef, allowed);
  };
  recorded.exact = (point, scanned, k) => {
    calls.push({ op: 'exact', k, labels: [...scanned] });
    return graph.exact(point, scanned, k);
  };
  const stats: HnswSearchStats = { ann: 0, filteredAnn: 0, exact: 0, exactFallback: 0, postFiltered: 0 };
  const ctx: SearchContext = {
    graph: recorded,
    labels,
    stats,
    postFilterEfFactor: () => postFilterEfFactor,
    exactScanLimit: (filteredEf) => {
      limitAsked.push(filteredEf);
      return limit(filteredEf);
    },
  };
  return { ctx, stats, calls, limitAsked };
}

const SCAN = () => Infinity;
const WALK = () => -1;
const ids = (hits: readonly VectorHit[]) => hits.map((h) => h.id);

function docsWith(count: number, dim: number, seed: number, meta?: (i: number) => Metadata): Doc[] {
  return unitVectors(count, dim, seed).map((vector, i) => ({ id: `d${String(i).padStart(3, '0')}`, vector, metadata: meta?.(i) }));
}

/**
 * A graph holding every doc, whose worker knows only the labels in `known` (the others read back
 * as freed slots: what the worker reports for a document deleted while a search was on its way).
 */
async function graphKnowing(docs: readonly Doc[], known: (label: number) => boolean): Promise<HnswGraph> {
  const full = await graphOf(docs);
  const path = join(root, `graph-${++files}.bin`);
  await full.write(path);
  const graph = await HnswGraph.read(
    docs[0]!.vector.length,
    path,
    docs.map((d, label) => (known(label) ? d.id : null)),
  );
  opened.push(graph);
  return graph;
}

describe('exactScanLimit', () => {
  it('is sqrt(cost x count x ef), crossing over where the benchmarks measured', () => {
    // sqrt(0.078 x 4000 x 128) = sqrt(39936) = 199.84; sqrt(0.078 x 100000 x 128) = sqrt(998400) = 999.2.
    expect(exactScanLimit(4000, 128, 0, 0.078)).toBeCloseTo(199.84, 2);
    expect(exactScanLimit(100_000, 128, 0, 0.078)).toBeCloseTo(999.2, 1);
    expect(exactScanLimit(100, 10, 0, 0.1)).toBeCloseTo(10, 12);
    expect(FILTER_EXACT_COST).toBe(1.25);
    expect(FILTER_EF_FACTOR).toBe(2);
    // 1M documents at ef 256 still scan at most ~18,000 matches, not a fixed share of n.
    expect(exactScanLimit(1_000_000, 256, 0, FILTER_EXACT_COST)).toBeCloseTo(Math.sqrt(320_000_000), 6);
  });

  it('never goes below exactScanMin', () => {
    expect(exactScanLimit(100, 128, 50, 0.078)).toBe(50); // sqrt(998.4) = 31.6 < 50
    expect(exactScanLimit(0, 128, 7, 0.078)).toBe(7);
    expect(exactScanLimit(5000, 128, 7, 0)).toBe(7);
    expect(exactScanLimit(0, 128, 0, 0.078)).toBe(0);
  });

  it('grows with the document count and the ef on seeded random inputs', () => {
    const r = mulberry32(77);
    for (let i = 0; i < 500; i++) {
      const count = Math.floor(r() * 1e6);
      const ef = 1 + Math.floor(r() * 1000);
      const min = Math.floor(r() * 300);
      const cost = r() * 0.2;
      const limit = exactScanLimit(count, ef, min, cost);
      expect(limit).toBeGreaterThanOrEqual(min);
      expect(exactScanLimit(count + 1 + Math.floor(r() * 1000), ef, min, cost)).toBeGreaterThanOrEqual(limit);
      expect(exactScanLimit(count, ef + 1 + Math.floor(r() * 100), min, cost)).toBeGreaterThanOrEqual(limit);
      if (limit > min) expect((limit * limit) / (cost * count * ef)).toBeCloseTo(1, 9);
    }
  });
});

describe('runSearch without a filter', () => {
  it('walks the graph once at ef max(ef, k) and returns the true top-k with cosine scores', async () => {
    const docs = docsWith(120, 8, 1);
    const graph = await graphOf(docs);
    const q = unitVectors(1, 8, 99)[0]!;
    const p = plan(graph, docs, SCAN);
    // ef 200 > n: the walk visits every node, so its answer is exact.
    const hits = await runSearch(p.ctx, q, 10, 200, undefined);
    const truth = brute(docs, q, 10);
    expect(ids(hits)).toEqual(truth.map((t) => t.id));
    hits.forEach((h, i) => expect(h.score).toBeCloseTo(truth[i]!.score, 5));
    expect(p.calls).toEqual([{ op: 'search', k: 10, ef: 200 }]);
    // An ef below k runs at k.
    const few = await runSearch(p.ctx, q, 10, 4, undefined);
    expect(few).toHaveLength(10);
    expect(p.calls[1]).toEqual({ op: 'search', k: 10, ef: 10 });
    expect(p.stats).toEqual({ ann: 2, filteredAnn: 0, exact: 0, exactFallback: 0, postFiltered: 0 });
    // Unfiltered searches never ask about the exact-scan limit.
    expect(p.limitAsked).toEqual([]);
  });

  it('caps k at the live document count', async () => {
    const docs = docsWith(30, 8, 2);
    const graph = await graphOf(docs);
    const p = plan(graph, docs, SCAN);
    const hits = await runSearch(p.ctx, docs[0]!.vector, 500, 16, undefined);
    expect(new Set(ids(hits))).toEqual(new Set(docs.map((d) => d.id)));
    expect(hits[0]!.id).toBe(docs[0]!.id);
    expect(hits[0]!.score).toBeCloseTo(1, 5);
    expect(p.calls).toEqual([{ op: 'search', k: 30, ef: 30 }]);
    expect(p.stats).toEqual({ ann: 1, filteredAnn: 0, exact: 0, exactFallback: 0, postFiltered: 0 });
  });

  it('a short answer is retried at 8 x max(ef, k), then scanned exactly over the live labels', async () => {
    const docs = docsWith(40, 8, 3);
    // The worker no longer knows labels 0-19; the label map holds 20-39.
    const graph = await graphKnowing(docs, (label) => label >= 20);
    const live = docs.map((_, i) => i).filter((i) => i >= 20);
    const p = plan(graph, docs, SCAN, live);
    // Nearest to label 0, which the graph still returns and the worker then drops.
    const hits = await runSearch(p.ctx, docs[0]!.vector, 25, 16, undefined);
    expect(p.calls).toEqual([
      { op: 'search', k: 20, ef: 20 },
      { op: 'search', k: 20, ef: 160 },
      { op: 'exact', k: 20, labels: live },
    ]);
    const truth = brute(
      docs.filter((_, i) => i >= 20),
      docs[0]!.vector,
      20,
    );
    expect(ids(hits)).toEqual(truth.map((t) => t.id));
    expect(p.stats).toEqual({ ann: 0, filteredAnn: 0, exact: 0, exactFallback: 1, postFiltered: 0 });
  });
});

describe('runSearch with a filter', () => {
  // Label i: group g = i % 4, n = i.
  const meta = (i: number): Metadata => ({ g: i % 4, n: i });

  it('a filter matching nothing returns nothing, without the graph or the counters', async () => {
    const docs = docsWith(40, 8, 4, meta);
    const graph = await graphOf(docs);
    const p = plan(graph, docs, SCAN);
    expect(await runSearch(p.ctx, docs[0]!.vector, 5, 16, { g: 9 })).toEqual([]);
    expect(p.calls).toEqual([]);
    expect(p.limitAsked).toEqual([]);
    expect(p.stats).toEqual({ ann: 0, filteredAnn: 0, exact: 0, exactFallback: 0, postFiltered: 0 });
  });

  it('asks exactScanLimit about 2 x max(ef, k), with k first capped at the match count', async () => {
    const docs = docsWith(120, 8, 5, meta);
    const graph = await graphOf(docs);
    const q = unitVectors(1, 8, 55)[0]!;
    // { g: 1 } matches 30 docs (labels 1, 5, ..., 117).
    const cases: [k: number, ef: number, asked: number][] = [
      [3, 10, 20],
      [15, 10, 30],
      [40, 10, 60], // k capped at 30 matches before max(ef, k)
      [5, 50, 100],
    ];
    for (const [k, ef, asked] of cases) {
      const p = plan(graph, docs, SCAN);
      const hits = await runSearch(p.ctx, q, k, ef, { g: 1 });
      expect(p.limitAsked).toEqual([asked]);
      expect(hits).toHaveLength(Math.min(k, 30));
    }
  });

  it('at most exactScanLimit matches: one exact scan over the matching labels, ascending, giving the exact top-k', async () => {
    const docs = docsWith(120, 8, 6, meta);
    const graph = await graphOf(docs);
    const q = unitVectors(1, 8, 66)[0]!;
    const filter: Filter = { $or: [{ g: 2 }, { n: { $lt: 10 } }] };
    const matching = docs.map((d, i) => (matchesFilter(filter, d.metadata) ? i : -1)).filter((i) => i >= 0);
    // The limit is inclusive: exactly as many matches as the limit still scans.
    const p = plan(graph, docs, () => matching.length);
    const hits = await runSearch(p.ctx, q, 7, 16, filter);
    expect(p.calls).toEqual([{ op: 'exact', k: 7, labels: matching }]);
    const truth = brute(docs, q, 7, filter);
    expect(ids(hits)).toEqual(truth.map((t) => t.id));
    hits.forEach((h, i) => expect(h.score).toBeCloseTo(truth[i]!.score, 5));
    expect(p.stats).toEqual({ ann: 0, filteredAnn: 0, exact: 1, exactFallback: 0, postFiltered: 0 });
  });

  it('above the limit: one graph walk at the filtered ef, letting through exactly the matching labels', async () => {
    const docs = docsWith(120, 8, 7, meta);
    const graph = await graphOf(docs);
    const q = unitVectors(1, 8, 77)[0]!;
    const filter: Filter = { g: { $in: [0, 3] } };
    const matching = docs.map((d, i) => (matchesFilter(filter, d.metadata) ? i : -1)).filter((i) => i >= 0);
    const p = plan(graph, docs, () => matching.length - 1);
    // ef 64 -> filtered ef 128 > 60 matches: the walk sees every allowed node, so it is exact.
    const hits = await runSearch(p.ctx, q, 6, 64, filter);
    expect(p.calls).toEqual([{ op: 'search', k: 6, ef: 128, labels: matching, bitmapLength: 120 }]);
    expect(ids(hits)).toEqual(brute(docs, q, 6, filter).map((t) => t.id));
    expect(p.stats).toEqual({ ann: 0, filteredAnn: 1, exact: 0, exactFallback: 0, postFiltered: 0 });
  });

  it('a walk that comes back short is redone exactly over the matches; documents the worker no longer holds stay out', async () => {
    const docs = docsWith(40, 8, 8, meta);
    // The label map still binds every label, but the worker has let go of labels 0 and 4 (group 0).
    const graph = await graphKnowing(docs, (label) => label !== 0 && label !== 4);
    const p = plan(graph, docs, WALK);
    const matching = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36];
    const hits = await runSearch(p.ctx, docs[0]!.vector, 10, 16, { g: 0 });
    expect(p.calls).toEqual([
      { op: 'search', k: 10, ef: 32, labels: matching, bitmapLength: 40 },
      { op: 'exact', k: 10, labels: matching },
    ]);
    const truth = brute(
      docs.filter((_, i) => i !== 0 && i !== 4),
      docs[0]!.vector,
      10,
      { g: 0 },
    );
    expect(truth).toHaveLength(8);
    expect(ids(hits)).toEqual(truth.map((t) => t.id));
    expect(p.stats).toEqual({ ann: 0, filteredAnn: 0, exact: 0, exactFallback: 1, postFiltered: 0 });
  });

  it('an exact scan orders equal scores by id', async () => {
    const base = unitVectors(1, 8, 9)[0]!;
    const others = docsWith(12, 8, 10, () => ({ twin: false }));
    const twins: Doc[] = ['m', 'b', 'z', 'a'].map((id) => ({ id, vector: base, metadata: { twin: true } }));
    const docs = [...twins, ...others];
    const graph = await graphOf(docs);
    const p = plan(graph, docs, SCAN);
    const hits = await runSearch(p.ctx, unitVectors(1, 8, 11)[0]!, 4, 16, { twin: true });
    expect(ids(hits)).toEqual(['a', 'b', 'm', 'z']);
    expect(new Set(hits.map((h) => h.score)).size).toBe(1);
  });

  it('either path gives the brute-force top-k on seeded random data and filters, counting each search once', async () => {
    const r = mulberry32(4242);
    const docs = docsWith(300, 16, 12, (i) => ({ g: i % 5, n: Math.floor(r() * 100), tag: ['x', 'y', 'z'][i % 3]! }));
    const graph = await graphOf(docs);
    for (let round = 0; round < 40; round++) {
      const filter: Filter = [
        { g: Math.floor(r() * 5) },
        { n: { $gte: Math.floor(r() * 100) } },
        { $or: [{ tag: 'x' }, { n: { $lt: Math.floor(r() * 50) } }] },
        { g: { $nin: [0, 1] }, tag: { $ne: 'z' } },
      ][round % 4]!;
      const q = unitVectors(1, 16, 1000 + round)[0]!;
      const k = 1 + Math.floor(r() * 20);
      const truth = brute(docs, q, k, filter).map((t) => t.id);
      const scan = plan(graph, docs, SCAN);
      // ef 300 = n: the filtered walk (at 600) reaches every allowed node.
      const walk = plan(graph, docs, WALK);
      // Post-filtering whenever asked: the walk at ef >= 300 sees every node too.
      const post = plan(graph, docs, SCAN, undefined, Infinity);
      const scanned = await runSearch(scan.ctx, q, k, 300, filter);
      const walked = await runSearch(walk.ctx, q, k, 300, filter);
      const posted = await runSearch(post.ctx, q, k, 300, filter);
      expect(ids(scanned)).toEqual(truth);
      expect(ids(walked)).toEqual(truth);
      expect(ids(posted)).toEqual(truth);
      expect(post.stats.postFiltered + post.stats.exact).toBe(truth.length === 0 ? 0 : 1);
      if (truth.length === 0) {
        expect(scan.stats).toEqual({ ann: 0, filteredAnn: 0, exact: 0, exactFallback: 0, postFiltered: 0 });
        expect(walk.stats).toEqual({ ann: 0, filteredAnn: 0, exact: 0, exactFallback: 0, postFiltered: 0 });
      } else {
        expect(scan.stats).toEqual({ ann: 0, filteredAnn: 0, exact: 1, exactFallback: 0, postFiltered: 0 });
        expect(walk.stats).toEqual({ ann: 0, filteredAnn: 1, exact: 0, exactFallback: 0, postFiltered: 0 });
      }
    }
  });

  it('a wide filter post-filters one unfiltered walk for 2 x k / selectivity hits, when that is within 2 x ef', async () => {
    const docs = docsWith(120, 8, 13, meta);
    const graph = await graphOf(docs);
    const q = unitVectors(1, 8, 88)[0]!;
    const p = plan(graph, docs, SCAN, undefined, 2);
    // { g: 1 }: 30 of 120 match, selectivity 1/4: 2 x 10 x 4 = 80 hits <= 2 x 64.
    const hits = await runSearch(p.ctx, q, 10, 64, { g: 1 });
    expect(p.calls).toEqual([{ op: 'search', k: 80, ef: 80 }]);
    expect(ids(hits)).toEqual(brute(docs, q, 10, { g: 1 }).map((t) => t.id));
    expect(p.stats).toEqual({ ann: 0, filteredAnn: 0, exact: 0, exactFallback: 0, postFiltered: 1 });
    // At ef 32 the 80 hits would exceed 2 x 32: the matches are collected and scanned instead.
    const narrow = plan(graph, docs, SCAN, undefined, 2);
    await runSearch(narrow.ctx, q, 10, 32, { g: 1 });
    expect(narrow.calls.map((c) => c.op)).toEqual(['exact']);
    expect(narrow.stats.exact).toBe(1);
  });

  it('a post-filtered walk that comes back short goes on as a filtered search', async () => {
    const docs0 = docsWith(120, 8, 14);
    const q = unitVectors(1, 8, 99)[0]!;
    // The 30 documents least similar to the query are the ones the filter lets through.
    const far = new Set(brute(docs0, q, 120).slice(90).map((t) => t.id));
    const docs = docs0.map((d) => ({ ...d, metadata: { far: far.has(d.id) } }));
    const graph = await graphOf(docs);
    const p = plan(graph, docs, SCAN, undefined, 2);
    const hits = await runSearch(p.ctx, q, 10, 64, { far: true });
    const matching = docs.map((d, i) => (far.has(d.id) ? i : -1)).filter((i) => i >= 0);
    expect(p.calls).toEqual([
      { op: 'search', k: 80, ef: 80 },
      { op: 'exact', k: 10, labels: matching },
    ]);
    expect(ids(hits)).toEqual(brute(docs, q, 10, { far: true }).map((t) => t.id));
    expect(p.stats).toEqual({ ann: 0, filteredAnn: 0, exact: 1, exactFallback: 0, postFiltered: 0 });
  });

  it('an exact scan over more matches than it rescores ranks on int8 rows and still returns exact top-k scores', async () => {
    const docs = docsWith(3000, 64, 15, (i) => ({ half: i % 2 === 0 }));
    const graph = await graphOf(docs);
    for (let round = 0; round < 10; round++) {
      const q = unitVectors(1, 64, 500 + round)[0]!;
      const p = plan(graph, docs, SCAN);
      const k = 5 + round;
      const hits = await runSearch(p.ctx, q, k, 64, { half: true });
      const truth = brute(docs, q, k, { half: true });
      expect(p.calls).toEqual([{ op: 'exact', k, labels: docs.map((_, i) => i).filter((i) => i % 2 === 0) }]);
      expect(ids(hits)).toEqual(truth.map((t) => t.id));
      hits.forEach((h, i) => expect(Math.abs(h.score - truth[i]!.score)).toBeLessThan(1e-6));
    }
  });
});
