/**
 * How the HNSW index answers one search. Unfiltered: walk the graph. Filtered, by the filter's
 * estimated selectivity (labels.ts, from the metadata postings): a wide filter filters an
 * unfiltered walk that asked for more hits; otherwise the matches are collected and either scanned
 * exactly (few of them) or let through a filtered walk; and a walk that comes back short is redone
 * exactly. The thresholds below were measured with scripts/bench-hnsw-blocking.ts. Input is
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
  /** Filtered searches answered by an unfiltered graph walk for more hits, then filtered. */
  postFiltered: number;
  /** Searches answered by an exact scan over the matching documents. */
  exact: number;
  /** Graph searches that came back short and were redone exactly. */
  exactFallback: number;
}

/**
 * When a filtered search scans exactly instead of walking the graph (scripts/bench-hnsw-blocking.ts).
 * The exact scan costs a fixed amount per matching document: an int8 dot product, ~2 us per match
 * at 512 dims measured end to end (50k x 512, 2 busy cores; it was ~33 us when every match took a
 * getPoint). The filtered walk visits about ef / selectivity = ef * n / matches nodes, because
 * hnswlib keeps exploring until it holds ef *allowed* candidates. The two cross where
 * matches ~ sqrt(c * n * ef): measured between 2,000 and 5,000 matches at 50k x 512, ef 256 (after
 * FILTER_EF_FACTOR), c = 1.25 for ~4,000. A fixed fraction of n would not do: at 1M documents
 * that is ~18,000 matches (1.8%), at 10k ~1,800 (18%). Below the limit exact is also better in
 * quality (recall 1.0).
 */
export const FILTER_EXACT_COST = 1.25;
/**
 * Filtered graph searches run at 2 x ef. Under hnswlib's filter semantics recall on the filtered
 * set is already at least the unfiltered recall at the same ef (20k x 64, ef 64: 0.97-1.0 at
 * 2-50% selectivity); doubling costs 5-25% more time (the JS callback dominates) and is cheap
 * insurance for restrictive filters whose allowed nodes are sparse around the query.
 */
export const FILTER_EF_FACTOR = 2;

/**
 * Wide filters skip the filtered walk: an unfiltered walk for POST_FILTER_OVERSAMPLE * k / s hits
 * (s the filter's estimated selectivity) is filtered afterwards, as long as that hit count stays
 * within POST_FILTER_EF_FACTOR x the search's ef, i.e. the walk costs at most about twice an
 * unfiltered one. At ef 128 and k 10 that is selectivity >= 7.8%. Twice the expected hit count
 * leaves room for the filter's matches being rarer near the query than overall; when they are, the
 * walk comes back short and the search goes on as a filtered one.
 */
export const POST_FILTER_OVERSAMPLE = 2;
export const POST_FILTER_EF_FACTOR = 2;

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
  /** See POST_FILTER_EF_FACTOR; 0 turns post-filtering off (read at search time, like exactScanLimit). */
  readonly postFilterEfFactor: () => number;
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
  if (matches.estimate > 0) {
    const wanted = Math.ceil((POST_FILTER_OVERSAMPLE * requested * ctx.labels.size) / matches.estimate);
    if (wanted <= ctx.postFilterEfFactor() * Math.max(ef, requested)) {
      const k = Math.min(wanted, ctx.labels.size);
      const hits = (await annSearch(ctx, point, k, Math.max(ef, k))).filter((h) => matches.accepts(h.id));
      if (hits.length >= requested) {
        ctx.stats.postFiltered++;
        return hits.slice(0, requested);
      }
    }
  }
  const labels = matches.collect();
  if (labels.length === 0) return [];
  const k = Math.min(requested, labels.length);
  const filteredEf = Math.max(ef, k) * FILTER_EF_FACTOR;
  if (labels.length <= ctx.exactScanLimit(filteredEf)) {
    ctx.stats.exact++;
    return exactSearch(ctx, point, labels, k);
  }
  const allowed = new Uint8Array(ctx.labels.slots);
  for (const label of labels) allowed[label] = 1;
  const hits = await annSearch(ctx, point, k, filteredEf, allowed);
  if (hits.length >= k) {
    ctx.stats.filteredAnn++;
    return hits;
  }
  ctx.stats.exactFallback++;
  return exactSearch(ctx, point, labels, k);
}

async function annSearch(ctx: SearchContext, point: Float32Array, k: number, ef: number, allowed?: Uint8Array): Promise<VectorHit[]> {
  return toHits(await ctx.graph.search(point, k, Math.max(ef, k), allowed));
}

async function exactSearch(ctx: SearchContext, point: Float32Array, labels: readonly number[] | Int32Array, k: number): Promise<VectorHit[]> {
  const hits = toHits(await ctx.graph.exact(point, Int32Array.from(labels), k));
  return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function toHits({ ids, distances }: GraphHits): VectorHit[] {
  return ids.map((id, i) => ({ id, score: 1 - distances[i]! }));
}
