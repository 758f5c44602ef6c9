/** What the training measurement scripts share: embedding texts with an engine, and dense quality by exact cosine. */
import type { EmbedKind, EmbeddingEngine } from '../../src/embedding/engine.ts';
import { ndcgAt } from '../../src/search/metrics.ts';

/** Callers in flight, so the engine's micro-batcher fills its batches as a server's would. */
const CONCURRENCY = 32;

/** Every text's vector (one text per call, as a search embeds it), and the seconds it took. */
export async function embedAll(engine: EmbeddingEngine, texts: readonly string[], kind: EmbedKind): Promise<{ vectors: Float32Array[]; seconds: number }> {
  const vectors: Float32Array[] = new Array(texts.length);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < texts.length) {
        const i = next++;
        vectors[i] = (await engine.embed([texts[i]!], kind)).vectors[0]!;
      }
    }),
  );
  return { vectors, seconds: (performance.now() - started) / 1000 };
}

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
