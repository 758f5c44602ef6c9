/**
 * POST /v1/collections/{name}/explain: one document against one query, whether or not the
 * search ranks it. It runs the search in that mode over the candidate depth hybrid fusion uses
 * and explains the document's hit; a document outside those candidates is explained all the
 * same (its dense similarity, passages and query words; its BM25 terms), with no rank.
 */
import { DocumentNotFoundError, EmptyTextError } from '../errors.ts';
import { requireCollection, requireGeneration, type SearchContext } from './context.ts';
import type { PassageScore, QueryTermEffect } from './explain.ts';
import type { KeywordTermContribution } from '../store/types.ts';
import { explainHits, HYBRID_CANDIDATES, search, type SearchHitExplain, type SearchMode } from './query.ts';

export interface ExplainRequest {
  readonly query: string;
  readonly id: string;
  readonly mode: SearchMode;
}

export interface ExplainResponse {
  readonly id: string;
  readonly mode: SearchMode;
  readonly model: string;
  readonly generation: number;
  /** The document's rank in that mode's results (1-based), null when it is not among the first HYBRID_CANDIDATES. */
  readonly rank: number | null;
  /** Its score there, null when unranked. */
  readonly score: number | null;
  readonly explain: SearchHitExplain | UnrankedExplain;
}

export interface UnrankedExplain {
  readonly dense: { readonly rank: null; readonly score: number; readonly passages: readonly PassageScore[]; readonly query_terms: readonly QueryTermEffect[] } | null;
  readonly keyword: { readonly rank: null; readonly score: number; readonly terms: readonly KeywordTermContribution[] } | null;
}

export async function explainDocument(ctx: SearchContext, collectionName: string, req: ExplainRequest): Promise<ExplainResponse> {
  const collection = requireCollection(ctx, collectionName);
  if (req.query.trim() === '') throw new EmptyTextError('query is empty or whitespace only');
  const doc = ctx.store.getDocument(collection.name, req.id);
  if (!doc) throw new DocumentNotFoundError(`document '${req.id}' not found in collection '${collection.name}'`);
  // An operator's probe, not user traffic: drift monitoring does not see it.
  const found = await search(ctx, collection.name, { mode: req.mode, query: req.query, k: HYBRID_CANDIDATES, explain: true, explainIds: new Set([req.id]), observed: false });
  const index = found.results.findIndex((r) => r.id === req.id);
  const base = { id: req.id, mode: req.mode, model: found.model, generation: found.generation };
  if (index >= 0) {
    const hit = found.results[index]!;
    return { ...base, rank: index + 1, score: hit.score, explain: hit.explain! };
  }
  // The generation the search above read, even if a swap happened since.
  const generation = requireGeneration(ctx, collection, found.generation);
  const wantsDense = req.mode !== 'keyword';
  const queryVector = wantsDense ? (await (await ctx.engines.get(generation.model)).embed([req.query], 'query')).vectors[0] : undefined;
  const parts = (
    await explainHits(ctx, {
      collection: collection.name,
      generation: generation.id,
      model: generation.model,
      text: req.query,
      queryVector,
      hits: [{ id: req.id, title: doc.title, text: doc.text, dense: wantsDense, keyword: req.mode !== 'dense' }],
    })
  ).get(req.id)!;
  return {
    ...base,
    rank: null,
    score: null,
    explain: {
      dense: parts.dense ? { rank: null, score: parts.dense.score, passages: parts.dense.passages, query_terms: parts.dense.query_terms } : null,
      keyword: req.mode === 'dense' ? null : { rank: null, score: parts.keyword?.score ?? 0, terms: parts.keyword?.terms ?? [] },
    },
  };
}
