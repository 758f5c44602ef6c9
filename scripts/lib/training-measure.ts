/** Dense retrieval quality by exact cosine (unit vectors), for the training measurement scripts. */
import { ndcgAt } from '../../src/search/metrics.ts';

/** Indices of the k documents with the highest dot product with `query`, best first (ties by index). */
export function topK(query: Float32Array, docs: readonly Float32Array[], k: number): number[] {
  const best: { i: number; s: number }[] = [];
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i]!;
    let s = 0;
    for (let j = 0; j < d.length; j++) s += query[j]! * d[j]!;
    if (best.length < k || s > best[best.length - 1]!.s) {
      best.push({ i, s });
      best.sort((a, b) => b.s - a.s || a.i - b.i);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b.i);
}

/** Mean nDCG@10 of exact top-10 retrieval for each query against its graded judgements. */
export function meanNdcg(queries: readonly Float32Array[], docs: readonly Float32Array[], docIds: readonly string[], qrels: ReadonlyArray<ReadonlyMap<string, number>>): number {
  let total = 0;
  queries.forEach((q, i) => (total += ndcgAt(10, topK(q, docs, 10).map((j) => docIds[j]!), qrels[i]!)));
  return total / queries.length;
}
