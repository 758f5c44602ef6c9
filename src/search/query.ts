/**
 * The read path: dense (ANN over the live generation), keyword (BM25) and hybrid (weighted
 * fusion of both). A search resolves the live generation once, so it never mixes two.
 */
import { EmptyTextError, InvalidInputError, InvalidVectorError } from '../errors.ts';
import type { Filter, Metadata } from '../values/filter.ts';
import type { VectorHit } from '../index/types.ts';
import type { KeywordExplanation, KeywordHit, KeywordTermContribution } from '../store/types.ts';
import { liveGeneration, requireCollection, requireGeneration, type SearchContext } from './context.ts';
import { explainDense, queryOcclusion, type DenseExplanation, type PassageScore, type QueryTermEffect } from './explain.ts';
import { fuse, type FusedHit } from './hybrid.ts';

export type SearchMode = 'dense' | 'keyword' | 'hybrid';

export interface SearchRequest {
  readonly mode: SearchMode;
  readonly query?: string;
  readonly vector?: readonly number[];
  readonly k: number;
  readonly filter?: Filter;
  /** Dense weight for hybrid (0 keyword only .. 1 dense only); the collection default otherwise. */
  readonly alpha?: number;
  readonly ef?: number;
  readonly includeText?: boolean;
  readonly explain?: boolean;
  /** Search this generation instead of the live one (evaluation, comparisons); not exposed over HTTP. */
  readonly generation?: number;
  /** With explain: explain only these ids' hits (POST …/explain asks for one document); all hits otherwise. */
  readonly explainIds?: ReadonlySet<string>;
  /**
   * false: not user traffic (an explanation's probe), so no query event reaches drift monitoring;
   * not exposed over HTTP. Evaluation gets the same by passing vectors it embedded itself.
   */
  readonly observed?: boolean;
}

/** Hybrid: the normalised scores fused, the weight, and the document's rank against either mode alone. */
export interface HybridExplanation {
  readonly alpha: number;
  readonly dense_normalised: number;
  readonly keyword_normalised: number;
  readonly rank: number;
  /** Rank in the dense (keyword) candidate list alone; null when it is not in that list. */
  readonly dense_rank: number | null;
  readonly keyword_rank: number | null;
  /** Places gained by fusion against that mode alone (positive: fusion ranked it higher). */
  readonly moved_vs_dense: number | null;
  readonly moved_vs_keyword: number | null;
}

export interface SearchHitExplain {
  readonly dense: { readonly rank: number; readonly score: number; readonly passages?: PassageScore[]; readonly query_terms?: QueryTermEffect[] } | null;
  readonly keyword: { readonly rank: number; readonly score: number; readonly terms?: KeywordTermContribution[] } | null;
  readonly alpha?: number;
  readonly hybrid?: HybridExplanation;
}

export interface SearchHitOut {
  readonly id: string;
  readonly score: number;
  readonly metadata: Metadata;
  readonly text?: string;
  readonly title?: string | null;
  readonly explain?: SearchHitExplain;
}

export interface SearchResponse {
  readonly results: SearchHitOut[];
  readonly model: string;
  readonly generation: number;
  readonly took_ms: number;
}

/** Candidates each side contributes to hybrid fusion (more than k, so fusion can reorder). */
export const HYBRID_CANDIDATES = 100;

export async function search(ctx: SearchContext, collectionName: string, req: SearchRequest): Promise<SearchResponse> {
  const started = performance.now();
  const collection = requireCollection(ctx, collectionName);
  const generation = req.generation === undefined ? liveGeneration(ctx, collection) : requireGeneration(ctx, collection, req.generation);
  const index = await ctx.indexes.get(collection, generation);
  const text = req.query;
  if (text !== undefined && text.trim() === '') throw new EmptyTextError('query is empty or whitespace only');
  if (req.mode !== 'dense' && text === undefined) throw new InvalidInputError(`mode '${req.mode}' needs a text "query"`);
  if (text === undefined && req.vector === undefined) throw new InvalidInputError('give a "query" text or a "vector"');

  let queryVector: Float32Array | undefined;
  let embedded: { tokens: number; unknown: number; truncated: boolean } | undefined;
  const needsDense = req.mode !== 'keyword';
  if (needsDense) {
    if (req.vector !== undefined) {
      queryVector = checkedVector(req.vector, generation.dimensions);
    } else {
      const engine = await ctx.engines.get(generation.model);
      const out = await engine.embed([text!], 'query');
      queryVector = out.vectors[0]!;
      embedded = { tokens: out.tokenCounts[0]!, unknown: out.unknownTokens[0]!, truncated: out.truncated[0]! };
    }
  }

  const denseK = req.mode === 'hybrid' ? Math.max(req.k, HYBRID_CANDIDATES) : req.k;
  const dense: VectorHit[] = queryVector ? await index.search({ vector: queryVector, k: denseK, ef: req.ef ?? collection.hnsw.efSearch, filter: req.filter }) : [];
  let keyword: KeywordHit[] = [];
  if (req.mode !== 'dense') {
    const allowed = req.filter ? new Set(ctx.store.idsMatching(collection.name, req.filter)) : undefined;
    keyword = ctx.store.keywordSearch(collection.name, text!, req.mode === 'hybrid' ? Math.max(req.k, HYBRID_CANDIDATES) : req.k, allowed);
  }

  const alpha = req.alpha ?? collection.hybridAlpha;
  const ranked: (Omit<FusedHit, 'denseNormalised' | 'keywordNormalised'> & Partial<FusedHit>)[] =
    req.mode === 'hybrid'
      ? fuse(dense, keyword, alpha, req.k)
      : (req.mode === 'dense' ? dense : keyword).map((h, i) => ({
          id: h.id,
          score: h.score,
          dense: req.mode === 'dense' ? { rank: i + 1, score: h.score } : null,
          keyword: req.mode === 'keyword' ? { rank: i + 1, score: h.score } : null,
        }));

  const docs = ctx.store.hitDocuments(
    collection.name,
    ranked.map((r) => r.id),
    { text: req.includeText === true || req.explain === true },
  );
  const present = ranked.filter((r) => docs.has(r.id)); // a document deleted between index search and this read
  const explanations = req.explain
    ? await explainHits(ctx, {
        collection: collection.name,
        generation: generation.id,
        model: generation.model,
        text,
        // The dense side is explained only for a text query: a supplied vector has no words to take out.
        queryVector: embedded ? queryVector : undefined,
        hits: present.filter((r) => !req.explainIds || req.explainIds.has(r.id)).map((r) => ({ id: r.id, title: docs.get(r.id)!.title ?? null, text: docs.get(r.id)!.text!, dense: r.dense !== null, keyword: r.keyword !== null })),
      })
    : undefined;
  const results: SearchHitOut[] = present.map((r, i) => {
    const doc = docs.get(r.id)!;
    const more = explanations?.get(r.id);
    return {
      id: r.id,
      score: r.score,
      metadata: doc.metadata,
      ...(req.includeText ? { text: doc.text, title: doc.title } : {}),
      ...(req.explain && (!req.explainIds || req.explainIds.has(r.id))
        ? {
            explain: {
              dense: r.dense ? { ...r.dense, ...(more?.dense ? { passages: [...more.dense.passages], query_terms: [...more.dense.query_terms] } : {}) } : null,
              keyword: r.keyword ? { ...r.keyword, ...(more?.keyword ? { terms: [...more.keyword.terms] } : {}) } : null,
              ...(req.mode === 'hybrid' ? { alpha, hybrid: hybridExplanation(r, alpha, i + 1) } : {}),
            },
          }
        : {}),
    };
  });

  if (req.observed !== false) ctx.events.emitQuery({
    collection: collection.name,
    generation: generation.id,
    model: generation.model,
    mode: req.mode,
    queryVector: embedded ? queryVector : undefined,
    topScore: dense[0]?.score,
    tokens: embedded?.tokens,
    unknownTokens: embedded?.unknown,
    truncated: embedded?.truncated,
  });
  return { results, model: generation.model, generation: generation.id, took_ms: Math.round((performance.now() - started) * 100) / 100 };
}

function hybridExplanation(r: Partial<FusedHit> & Pick<FusedHit, 'dense' | 'keyword'>, alpha: number, rank: number): HybridExplanation {
  return {
    alpha,
    dense_normalised: r.denseNormalised ?? 0,
    keyword_normalised: r.keywordNormalised ?? 0,
    rank,
    dense_rank: r.dense?.rank ?? null,
    keyword_rank: r.keyword?.rank ?? null,
    moved_vs_dense: r.dense ? r.dense.rank - rank : null,
    moved_vs_keyword: r.keyword ? r.keyword.rank - rank : null,
  };
}

interface ExplainTarget {
  readonly collection: string;
  readonly generation: number;
  readonly model: string;
  readonly text: string | undefined;
  /** The text's query vector; without it (a vector query) the dense side keeps its rank and score only. */
  readonly queryVector: Float32Array | undefined;
  readonly hits: readonly { readonly id: string; readonly title: string | null; readonly text: string; readonly dense: boolean; readonly keyword: boolean }[];
}

/** Dense and keyword explanations of the hits that came from each side. */
export async function explainHits(
  ctx: SearchContext,
  target: ExplainTarget,
): Promise<Map<string, { dense?: DenseExplanation; keyword?: KeywordExplanation }>> {
  const out = new Map<string, { dense?: DenseExplanation; keyword?: KeywordExplanation }>(target.hits.map((h) => [h.id, {}]));
  const keywordIds = target.hits.filter((h) => h.keyword).map((h) => h.id);
  if (target.text !== undefined && keywordIds.length) {
    for (const [id, explanation] of ctx.store.keywordExplain(target.collection, target.text, keywordIds)) out.get(id)!.keyword = explanation;
  }
  const denseHits = target.hits.filter((h) => h.dense);
  if (target.queryVector && target.text !== undefined && denseHits.length) {
    const engine = await ctx.engines.get(target.model);
    const vectors = ctx.store.getVectors(target.generation, denseHits.map((h) => h.id));
    const withVectors = denseHits.filter((h) => vectors.has(h.id));
    const occlusion = await queryOcclusion(engine, target.text, target.queryVector);
    const dense = await explainDense(engine, occlusion, withVectors.map((h) => ({ title: h.title, text: h.text, vector: vectors.get(h.id)! })));
    withVectors.forEach((h, i) => (out.get(h.id)!.dense = dense[i]!));
  }
  return out;
}

export function checkedVector(values: readonly number[], dimensions: number): Float32Array {
  if (values.length !== dimensions) throw new InvalidVectorError(`vector has ${values.length} dimensions; this collection's model makes ${dimensions}`);
  const v = Float32Array.from(values);
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) throw new InvalidVectorError(`vector[${i}] is not a finite number`);
    norm += v[i]! * v[i]!;
  }
  if (norm === 0) throw new InvalidVectorError('vector is all zeros');
  // Indexes hold unit vectors and score by cosine; normalising the query keeps scores comparable.
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * scale;
  return v;
}
