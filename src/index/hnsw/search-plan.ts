/**
 * How the HNSW index answers one search: walk the graph (with a label filter when the query has
 * a metadata filter) or scan the candidates exactly, and what to do when the graph comes back
 * short. The thresholds below were measured with scripts/bench-hnsw-blocking.ts. Input is
 * validated by the caller (index.ts); the work itself runs in the graph worker (graph.ts).
 */
import type { Filter } from '../../values/filter.ts';
import type { VectorHit } from '../types.ts';
import type { GraphHits } from './graph-protocol.ts';
import type { HnswGraph } from './graph.ts';
import type { LabelMap } from './labels.ts';

export interface HnswSearchStats {
  /** Unfiltered searches answered by the graph. */
  ann: number;
  /** Filtered searches answered by the graph with a label filter. */
  filteredAnn: number;
  /** Searches answered by an exact scan over the matching documents. */
  exact: number;
  /** Graph searches that came back short and were redone exactly. */
  exactFallback: number;
}

/**
 * When a filtered search scans exactly instead of walking the graph (scripts/bench-hnsw-blocking.ts,
 * 2-core EPYC). The exact scan costs a fixed amount per matching document, dominated by getPoint
 * building a JS array of the vector (~4 us at 64 dims, ~33 us at 512). The filtered graph search
 * visits about ef / selectivity = ef * n / matches nodes, each through a JS filter callback,
 * because hnswlib keeps exploring until it holds ef *allowed* candidates. The two cross where
 * matches ~ sqrt(c * n * ef); measured crossovers: ~200 matches at 4k x 64 and ~1,000 at
 * 100k x 512 (ef 128 after FILTER_EF_FACTOR), both fitting c = 0.078. A fixed fraction of n
 * would not do: at 1M documents 1% is 10,000 matches, ~330 ms of exact scan. Below the limit
 * exact is also better in quality (recall 1.0).
 */
export const FILTER_EXACT_COST = 0.078;
/**
 * Filtered graph searches run at 2 x ef. Under hnswlib's filter semantics recall on the filtered
 * set is already at least the unfiltered recall at the same ef (20k x 64, ef 64: 0.97-1.0 at
 * 2-50% selectivity); doubling costs 5-25% more time (the JS callback dominates) and is cheap
 * insurance for restrictive filters whose allowed nodes are sparse around the query.
 */
export const FILTER_EF_FACTOR = 2;

/**
 * Filtered searches with at most this many matches scan them exactly (see FILTER_EXACT_COST):
 * max(exactScanMin, sqrt(exactScanCost * count * ef)), ef being the filtered search's ef.
 */
export function exactScanLimit(count: number, filteredEf: number, exactScanMin: number, exactScanCost: number): number {
  return Math.max(exactScanMin, Math.sqrt(exactScanCost * count * filteredEf));
}

export interface SearchContext {
  readonly graph: HnswGraph;
  readonly labels: LabelMap;
  readonly stats: HnswSearchStats;
  /** The index's exactScanLimit, read at search time (its knobs are public and may change). */
  readonly exactScanLimit: (filteredEf: number) => number;
}

/**
 * Top `k` hits for a validated query against a non-empty index, best first. The candidate labels
 * are taken synchronously on entry, so concurrent mutations only change what the worker reports.
 */
export function runSearch(ctx: SearchContext, point: Float32Array, k: number, ef: number, filter: Filter | undefined): Promise<VectorHit[]> {
  return filter === undefined ? searchAll(ctx, point, k, ef) : searchFiltered(ctx, point, k, ef, filter);
}

async function searchAll(ctx: SearchContext, point: Float32Array, requested: number, ef: number): Promise<VectorHit[]> {
  const k = Math.min(requested, ctx.labels.size);
  let hits = await annSearch(ctx, point, k, ef);
  // Short results only happen when deletions cut off part of the graph: widen the search
  // first, since an exact scan over everything costs ~33 us per document at 512 dims.
  if (hits.length < k) hits = await annSearch(ctx, point, k, Math.max(ef, k) * 8);
  if (hits.length >= k) {
    ctx.stats.ann++;
    return hits;
  }
  ctx.stats.exactFallback++;
  return exactSearch(ctx, point, ctx.labels.live(), k);
}

async function searchFiltered(ctx: SearchContext, point: Float32Array, requested: number, ef: number, filter: Filter): Promise<VectorHit[]> {
  const matches = ctx.labels.matching(filter);
  if (matches.length === 0) return [];
  const k = Math.min(requested, matches.length);
  const filteredEf = Math.max(ef, k) * FILTER_EF_FACTOR;
  if (matches.length <= ctx.exactScanLimit(filteredEf)) {
    ctx.stats.exact++;
    return exactSearch(ctx, point, matches, k);
  }
  const allowed = new Uint8Array(ctx.labels.slots);
  for (const label of matches) allowed[label] = 1;
  const hits = await annSearch(ctx, point, k, filteredEf, allowed);
  if (hits.length >= k) {
    ctx.stats.filteredAnn++;
    return hits;
  }
  ctx.stats.exactFallback++;
  return exactSearch(ctx, point, matches, k);
}

async function annSearch(ctx: SearchContext, point: Float32Array, k: number, ef: number, allowed?: Uint8Array): Promise<VectorHit[]> {
  return toHits(await ctx.graph.search(point, k, Math.max(ef, k), allowed));
}

async function exactSearch(ctx: SearchContext, point: Float32Array, labels: readonly number[], k: number): Promise<VectorHit[]> {
  const hits = toHits(await ctx.graph.exact(point, Int32Array.from(labels), k));
  return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function toHits({ ids, distances }: GraphHits): VectorHit[] {
  return ids.map((id, i) => ({ id, score: 1 - distances[i]! }));
}
