/**
 * ANN quality: how much of the exact (brute-force cosine) top-k the vector index returns.
 * Exact search streams the generation's vectors from the store once for all queries, keeping a
 * top-k per query, so memory stays O(queries x k) whatever the collection size; time is
 * O(documents x queries x dimensions).
 */
import type { VectorIndex } from '../../index/types.ts';
import { checkedVector } from '../../search/query.ts';
import type { DocumentsRepository } from '../../store/types.ts';
import type { EvalDeps } from './deps.ts';

type VectorReader = Pick<DocumentsRepository, 'getVectors' | 'iterateVectors'>;

export interface ScoredId {
  readonly id: string;
  readonly score: number;
}

/** Two documents whose cosines differ by less than this are tied (duplicates in the corpus). */
const TIE_EPSILON = 1e-6;

export interface QueryVector {
  /** What the engine returns for the text, as a search request's `vector`. */
  readonly raw: number[];
  /** Normalised exactly as the search path normalises a request vector (what the index sees). */
  readonly unit: Float32Array;
}

/**
 * One query's vector from `model`, computed as a text search computes it (one text per engine
 * call, query prefix), so searching with `vector: raw` ranks exactly as searching the text.
 * Evaluation searches pass vectors rather than texts so that they never reach the search
 * observers (drift detection would otherwise take evaluation queries for live traffic).
 */
export async function embedQuery(deps: EvalDeps, model: string, text: string): Promise<QueryVector> {
  const engine = await deps.engines.get(model);
  const raw = Array.from((await engine.embed([text], 'query')).vectors[0]!);
  return { raw, unit: checkedVector(raw, engine.dimensions) };
}

export async function embedQueries(deps: EvalDeps, model: string, texts: readonly string[]): Promise<QueryVector[]> {
  const out: QueryVector[] = [];
  for (const text of texts) out.push(await embedQuery(deps, model, text));
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Multiply-adds between yields to the event loop (a server keeps answering meanwhile). */
const YIELD_EVERY = 20_000_000;

/** Exact top-k by cosine (stored vectors are unit length) over every vector of `generation`. */
export async function exactTopK(store: VectorReader, generation: number, queries: readonly Float32Array[], k: number): Promise<ScoredId[][]> {
  const tops: ScoredId[][] = queries.map(() => []);
  let work = 0;
  for (const { id, vector } of store.iterateVectors(generation)) {
    work += queries.length * vector.length;
    if (work >= YIELD_EVERY) {
      work = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    for (let q = 0; q < queries.length; q++) {
      const top = tops[q]!;
      const score = dot(queries[q]!, vector);
      if (top.length === k && score <= top[k - 1]!.score) continue;
      let at = top.length;
      while (at > 0 && top[at - 1]!.score < score) at--;
      top.splice(at, 0, { id, score });
      if (top.length > k) top.pop();
    }
  }
  return tops;
}

/**
 * Recall@k of one index answer against the exact answer. A returned document counts when its
 * true cosine reaches the exact k-th best (so an index that returns one of two identical
 * documents where exact search listed the other is not penalised).
 */
export function annRecallOne(store: VectorReader, generation: number, query: Float32Array, returned: readonly string[], exact: readonly ScoredId[], k: number): number {
  const expected = Math.min(k, exact.length);
  if (expected === 0) return 1;
  const kth = exact[expected - 1]!.score;
  const vectors = store.getVectors(generation, returned.slice(0, k));
  let found = 0;
  const counted = new Set<string>();
  for (const id of returned.slice(0, k)) {
    const v = vectors.get(id);
    if (!v || counted.has(id)) continue;
    counted.add(id);
    if (dot(query, v) >= kth - TIE_EPSILON) found++;
  }
  return Math.min(1, found / expected);
}

/** Mean ANN recall@k of `index` at `ef` over the queries, against precomputed exact answers. */
export async function annRecall(
  store: VectorReader,
  generation: number,
  index: VectorIndex,
  queries: readonly Float32Array[],
  exact: readonly (readonly ScoredId[])[],
  k: number,
  ef: number,
): Promise<number> {
  if (queries.length === 0) return 1;
  let sum = 0;
  for (let q = 0; q < queries.length; q++) {
    const hits = await index.search({ vector: queries[q]!, k, ef });
    sum += annRecallOne(store, generation, queries[q]!, hits.map((h) => h.id), exact[q]!, k);
  }
  return sum / queries.length;
}
