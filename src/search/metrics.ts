/**
 * Ranking metrics shared by the search service's evaluation and the benchmarks. `ranked` is a
 * result list best first; `relevance` maps document ids to graded relevance (> 0 relevant,
 * missing = 0). A repeated id counts at its first position only, so a buggy ranker that returns
 * duplicates cannot inflate a score.
 */

function firstOccurrences(k: number, ranked: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const id of ranked) {
    if (out.length >= k) break;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(id);
  }
  return out;
}

function grade(relevance: ReadonlyMap<string, number>, id: string): number {
  const g = relevance.get(id) ?? 0;
  return g > 0 ? g : 0;
}

/** nDCG@k with linear gains (gain = grade) and a log2(rank + 1) discount; 0 when nothing is relevant. */
export function ndcgAt(k: number, ranked: readonly string[], relevance: ReadonlyMap<string, number>): number {
  const ideal = [...relevance.values()]
    .filter((g) => g > 0)
    .sort((a, b) => b - a)
    .slice(0, k);
  let idcg = 0;
  ideal.forEach((g, i) => (idcg += g / Math.log2(i + 2)));
  if (idcg === 0) return 0;
  let dcg = 0;
  firstOccurrences(k, ranked).forEach((id, i) => (dcg += grade(relevance, id) / Math.log2(i + 2)));
  return dcg / idcg;
}

/** Reciprocal rank of the first relevant result within the top k; 0 when none. */
export function mrrAt(k: number, ranked: readonly string[], relevance: ReadonlyMap<string, number>): number {
  const top = firstOccurrences(k, ranked);
  const i = top.findIndex((id) => grade(relevance, id) > 0);
  return i < 0 ? 0 : 1 / (i + 1);
}

/** Fraction of the relevant documents found in the top k; 0 when nothing is relevant. */
export function recallAt(k: number, ranked: readonly string[], relevance: ReadonlyMap<string, number>): number {
  let relevant = 0;
  for (const g of relevance.values()) if (g > 0) relevant++;
  if (relevant === 0) return 0;
  const found = firstOccurrences(k, ranked).filter((id) => grade(relevance, id) > 0).length;
  return found / relevant;
}
