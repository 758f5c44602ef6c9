/**
 * Validation figures of a training run: nDCG@10 and MRR@10, dense and hybrid, of held-out
 * queries, computed the same way for the parent (before) and the trained version (after).
 *
 * Dense: exact cosine top-10 over every document vector of the live generation (not the HNSW
 * graph: the figures compare models, not index recall), as ORT graph runs (src/training/dense.ts).
 * Hybrid: `fuse` of the dense top-100 and the store's BM25 top-100 for the query text at the collection's hybridAlpha, with the candidate
 * count of search itself (src/search/query.ts HYBRID_CANDIDATES). BM25 does not depend on the
 * model, so each query's keyword list is read once and serves both sides.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { fuse, type RankedScore } from '../../search/hybrid.ts';
import { mrrAt, ndcgAt } from '../../search/metrics.ts';
import { HYBRID_CANDIDATES } from '../../search/query.ts';
import type { KeywordHit } from '../../store/types.ts';
import { topKByDot } from '../../training/dense.ts';
import { TrainingCancelledError } from '../../training/errors.ts';
import type { SessionCache } from '../../training/sessions.ts';
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

/** Queries whose keyword lists are read between yields to the event loop (~8 ms each on Cranfield). */
const KEYWORD_SLICE = 8;

/** Each query's BM25 candidates, read in slices with yields between them so that searches are served meanwhile. */
export async function withKeywordHits(deps: TrainingDeps, collection: string, queries: readonly JudgedQuery[], signal?: AbortSignal): Promise<ValidationQuery[]> {
  const out: ValidationQuery[] = [];
  for (let at = 0; at < queries.length; at += KEYWORD_SLICE) {
    if (at > 0) await yieldToEventLoop();
    if (signal?.aborted) throw new TrainingCancelledError();
    for (const q of queries.slice(at, at + KEYWORD_SLICE)) out.push({ ...q, keyword: deps.store.keywordSearch(collection, q.text, HYBRID_CANDIDATES) });
  }
  return out;
}

const zero: ModeFigures = { 'ndcg@10': 0, 'mrr@10': 0 };

/** Each query's top 10 document ids per mode, in query order (the fairness gate reads their exposure). */
export interface RankedIds {
  readonly dense: readonly (readonly string[])[];
  readonly hybrid: readonly (readonly string[])[];
}

export interface SetScores {
  readonly figures: SetFigures;
  readonly ranked: RankedIds;
}

/**
 * Mean figures of `queries` (their unit vectors, row-major [queries, d]) against every document
 * (row-major [documents, d], in `docIds` order), and the rankings they were read from; zeros for
 * no queries.
 */
export async function scoreQueries(
  sessions: SessionCache,
  queries: readonly ValidationQuery[],
  vectors: Float32Array,
  docs: Float32Array,
  d: number,
  docIds: readonly string[],
  alpha: number,
): Promise<SetScores> {
  if (queries.length === 0) return { figures: { dense: zero, hybrid: zero }, ranked: { dense: [], hybrid: [] } };
  const top = await topKByDot(sessions, vectors, docs, d, HYBRID_CANDIDATES);
  let dn = 0;
  let dm = 0;
  let hn = 0;
  let hm = 0;
  const ranked = { dense: [] as string[][], hybrid: [] as string[][] };
  queries.forEach((q, i) => {
    const candidates: RankedScore[] = [];
    for (let j = i * top.k; j < (i + 1) * top.k; j++) candidates.push({ id: docIds[top.indices[j]!]!, score: top.scores[j]! });
    const dense = candidates.slice(0, 10).map((h) => h.id);
    const hybrid = fuse(candidates, q.keyword, alpha, 10).map((h) => h.id);
    ranked.dense.push(dense);
    ranked.hybrid.push(hybrid);
    dn += ndcgAt(10, dense, q.relevant);
    dm += mrrAt(10, dense, q.relevant);
    hn += ndcgAt(10, hybrid, q.relevant);
    hm += mrrAt(10, hybrid, q.relevant);
  });
  const n = queries.length;
  return { figures: { dense: { 'ndcg@10': dn / n, 'mrr@10': dm / n }, hybrid: { 'ndcg@10': hn / n, 'mrr@10': hm / n } }, ranked };
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
