/**
 * Hybrid ranking: a convex combination of per-query min-max normalised dense and keyword scores
 * over the union of both candidate lists. Equal-weight reciprocal-rank fusion loses to BM25 on
 * our data because the default dense model is far weaker on technical text; a tunable weight
 * (alpha = dense share) lets each collection keep what each signal is worth.
 */
export interface RankedScore {
  readonly id: string;
  readonly score: number;
}

export interface FusedHit {
  readonly id: string;
  readonly score: number;
  readonly dense: { readonly rank: number; readonly score: number } | null;
  readonly keyword: { readonly rank: number; readonly score: number } | null;
  /** The min-max normalised scores the fused score combines (0 for a list the document is not in). */
  readonly denseNormalised: number;
  readonly keywordNormalised: number;
}

/** Maps scores to [0, 1] by the list's min and max; a list of equal scores maps to 1. */
function normalise(list: readonly RankedScore[]): Map<string, number> {
  const out = new Map<string, number>();
  if (list.length === 0) return out;
  let min = Infinity;
  let max = -Infinity;
  for (const h of list) {
    min = Math.min(min, h.score);
    max = Math.max(max, h.score);
  }
  const span = max - min;
  for (const h of list) out.set(h.id, span > 0 ? (h.score - min) / span : 1);
  return out;
}

export function fuse(dense: readonly RankedScore[], keyword: readonly RankedScore[], alpha: number, k: number): FusedHit[] {
  const denseNorm = normalise(dense);
  const keywordNorm = normalise(keyword);
  const denseRank = new Map(dense.map((h, i) => [h.id, { rank: i + 1, score: h.score }]));
  const keywordRank = new Map(keyword.map((h, i) => [h.id, { rank: i + 1, score: h.score }]));
  const ids = new Set([...denseRank.keys(), ...keywordRank.keys()]);
  const fused: FusedHit[] = [];
  for (const id of ids) {
    // A document missing from one list scored at or below that list's minimum: 0 after normalising.
    const denseNormalised = denseNorm.get(id) ?? 0;
    const keywordNormalised = keywordNorm.get(id) ?? 0;
    const score = alpha * denseNormalised + (1 - alpha) * keywordNormalised;
    fused.push({ id, score, dense: denseRank.get(id) ?? null, keyword: keywordRank.get(id) ?? null, denseNormalised, keywordNormalised });
  }
  // Ties broken by id so results are deterministic across restarts.
  fused.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return fused.slice(0, k);
}
