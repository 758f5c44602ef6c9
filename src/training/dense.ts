/**
 * Exact dense retrieval and the adapter's map as ORT graph runs, for a training run's validation
 * (src/lifecycle/training/validation.ts): every held-out query's top candidates among all the
 * collection's documents, before and after training. In JS loops on the calling thread this was
 * ~8 of a Cranfield adapter run's ~40 s (785 queries x 1,398 documents x 512 dimensions, twice,
 * plus mapping them) and held the event loop for seconds; as Gemm + TopK it is milliseconds.
 */
import { adapterMapGraph, topKGraph } from './graphs.ts';
import { feed } from './runner.ts';
import type { SessionCache } from './sessions.ts';

/** Queries per graph run (bounds the [b, n] score matrix: 256 x 20k documents is 20 MB). */
const QUERY_BATCH = 256;

export interface DenseHits {
  /** Document indices, best first, `k` per query (fewer when there are fewer documents). */
  readonly indices: Int32Array;
  readonly scores: Float32Array;
  /** Hits per query: min(k, documents). */
  readonly k: number;
}

/**
 * The `k` documents with the highest dot product for each query (row-major [queries, d] against
 * [documents, d]); ties go to the lower document index (ONNX TopK's rule).
 */
export async function topKByDot(sessions: SessionCache, queries: Float32Array, docs: Float32Array, d: number, k: number): Promise<DenseHits> {
  const b = queries.length / d;
  const n = docs.length / d;
  const kk = Math.min(k, n);
  const indices = new Int32Array(b * kk);
  const scores = new Float32Array(b * kk);
  if (b === 0 || kk === 0) return { indices, scores, k: kk };
  const graph = await sessions.get(`top-k:${d}:${kk}`, () => topKGraph(d, kk));
  for (let start = 0; start < b; start += QUERY_BATCH) {
    const rows = Math.min(QUERY_BATCH, b - start);
    const out = await graph.run({ Q: feed(queries.subarray(start * d, (start + rows) * d), [rows, d]), D: feed(docs, [n, d]) }, ['indices', 'scores']);
    const idx = out.indices as BigInt64Array;
    for (let i = 0; i < idx.length; i++) indices[start * kk + i] = Number(idx[i]!);
    scores.set(out.scores as Float32Array, start * kk);
  }
  return { indices, scores, k: kk };
}

/** normalize(x + x W) for each row of `rows` (row-major [n, d]): the adapter's map, as served. */
export async function mapByAdapter(sessions: SessionCache, W: Float32Array, rows: Float32Array, d: number): Promise<Float32Array> {
  if (rows.length === 0) return new Float32Array(0);
  const graph = await sessions.get(`adapter-map:${d}`, () => adapterMapGraph(d));
  return (await graph.runFloat({ W: feed(W, [d, d]), X: feed(rows, [rows.length / d, d]) }, ['Y'])).Y;
}
