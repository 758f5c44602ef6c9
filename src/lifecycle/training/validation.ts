/**
 * Validation figures of a training run: nDCG@10 and MRR@10, dense and hybrid, of held-out
 * queries, computed the same way for the parent (before) and the trained version (after).
 *
 * Dense: exact cosine top-10 over every document vector of the live generation (not the HNSW
 * graph: the figures compare models, not index recall). Hybrid: `fuse` of the dense top-100 and
 * the store's BM25 top-100 for the query text at the collection's hybridAlpha, with the candidate
 * count of search itself (src/search/query.ts HYBRID_CANDIDATES). BM25 does not depend on the
 * model, so each query's keyword list is read once and serves both sides.
 */
import { fuse, type RankedScore } from '../../search/hybrid.ts';
import { mrrAt, ndcgAt } from '../../search/metrics.ts';
import { HYBRID_CANDIDATES } from '../../search/query.ts';
import type { KeywordHit } from '../../store/types.ts';
import type { JudgedQuery } from './data.ts';
import type { TrainingDeps } from './deps.ts';

export interface ModeFigures {
  readonly 'ndcg@10': number;
  readonly 'mrr@10': number;
}

export interface SetFigures {
  readonly dense: ModeFigures;
  readonly hybrid: ModeFigures;
}

/** Figures per held-out set: pseudo-queries always; feedback and the evaluation set when there are some. */
export interface Figures {
  readonly pseudo: SetFigures;
  readonly feedback?: SetFigures;
  readonly eval_set?: SetFigures;
}

export type FigureSet = keyof Figures;
export const FIGURE_SETS: readonly FigureSet[] = ['pseudo', 'feedback', 'eval_set'];

/** A held-out query with its keyword candidates (read once, the same for both sides). */
export interface ValidationQuery extends JudgedQuery {
  readonly keyword: readonly KeywordHit[];
}

export function withKeywordHits(deps: TrainingDeps, collection: string, queries: readonly JudgedQuery[]): ValidationQuery[] {
  return queries.map((q) => ({ ...q, keyword: deps.store.keywordSearch(collection, q.text, HYBRID_CANDIDATES) }));
}

/** The `k` best documents by cosine (unit vectors: dot product), ties by id order (ids ascend with the index). */
function denseTop(query: Float32Array, docs: readonly Float32Array[], docIds: readonly string[], k: number): RankedScore[] {
  // Bounded insertion: a list of the best k so far, best first; most documents fail the first test.
  const best: { i: number; s: number }[] = [];
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i]!;
    let s = 0;
    for (let j = 0; j < d.length; j++) s += query[j]! * d[j]!;
    // Documents come in id order, so an equal score never displaces an earlier (smaller) id.
    if (best.length === k && s <= best[k - 1]!.s) continue;
    let at = best.length;
    while (at > 0 && best[at - 1]!.s < s) at--;
    best.splice(at, 0, { i, s });
    if (best.length > k) best.pop();
  }
  return best.map(({ i, s }) => ({ id: docIds[i]!, score: s }));
}

const zero: ModeFigures = { 'ndcg@10': 0, 'mrr@10': 0 };

/** Mean figures of `queries` (their unit vectors in `vectors`) against `docs`; zeros for no queries. */
export function scoreQueries(
  queries: readonly ValidationQuery[],
  vectors: readonly Float32Array[],
  docs: readonly Float32Array[],
  docIds: readonly string[],
  alpha: number,
): SetFigures {
  if (queries.length === 0) return { dense: zero, hybrid: zero };
  let dn = 0;
  let dm = 0;
  let hn = 0;
  let hm = 0;
  queries.forEach((q, i) => {
    const candidates = denseTop(vectors[i]!, docs, docIds, HYBRID_CANDIDATES);
    const dense = candidates.slice(0, 10).map((h) => h.id);
    const hybrid = fuse(candidates, q.keyword, alpha, 10).map((h) => h.id);
    dn += ndcgAt(10, dense, q.relevant);
    dm += mrrAt(10, dense, q.relevant);
    hn += ndcgAt(10, hybrid, q.relevant);
    hm += mrrAt(10, hybrid, q.relevant);
  });
  const n = queries.length;
  return { dense: { 'ndcg@10': dn / n, 'mrr@10': dm / n }, hybrid: { 'ndcg@10': hn / n, 'mrr@10': hm / n } };
}

/** Figures as lineage metrics: `<set>.<mode>.<metric>`, e.g. "pseudo.dense.ndcg@10". */
export function flattenFigures(figures: Figures): Record<string, number> {
  const out: Record<string, number> = {};
  for (const set of FIGURE_SETS) {
    const f = figures[set];
    if (!f) continue;
    for (const mode of ['dense', 'hybrid'] as const) for (const metric of ['ndcg@10', 'mrr@10'] as const) out[`${set}.${mode}.${metric}`] = f[mode][metric];
  }
  return out;
}
