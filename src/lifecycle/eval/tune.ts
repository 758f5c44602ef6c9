/**
 * Tuning a collection's search defaults on an evaluation set:
 *
 * - efSearch: the smallest of an increasing ladder whose ANN recall@10 against exact search
 *   reaches the target (default 0.95). Tuned first, so alpha is tuned on what searches will do.
 * - hybrid weight (alpha): a grid 0..1 in steps of 0.05, scored by mean nDCG@10. The stored
 *   alpha is the best over all queries; the figure to believe is the 2-fold cross-validated one
 *   (queries split by a seeded shuffle; alpha picked on one half is scored on the other, and
 *   vice versa), because the in-sample best is optimistically biased by the choice itself.
 *   Dense and keyword candidate lists (100 each, as hybrid search fuses, dense at the new
 *   efSearch) are fetched once per query and fused in memory for every alpha, with the same
 *   `fuse` the search path uses, so the in-sample figure is what hybrid search then returns.
 *
 * Both are stored as the collection's defaults (searches pick them up at once) unless dryRun.
 */
import { InvalidInputError } from '../../errors.ts';
import { liveGeneration, requireCollection } from '../../search/context.ts';
import { fuse, type RankedScore } from '../../search/hybrid.ts';
import { ndcgAt } from '../../search/metrics.ts';
import { seededShuffle } from '../../util/random.ts';
import { annRecall, embedQueries, exactTopK } from './ann.ts';
import { readEvalDataset, type EvalDataset } from './dataset.ts';
import type { EvalDeps } from './deps.ts';
import { missingJudgedDocuments } from './run.ts';

export const EF_LADDER: readonly number[] = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096];
export const DEFAULT_TARGET_RECALL = 0.95;
const ALPHA_STEP = 0.05;
const CANDIDATES = 100;
const ANN_K = 10;
const DEFAULT_SEED = 20240611;

export interface TuneOptions {
  /** ANN recall@10 the chosen efSearch must reach (default 0.95). */
  readonly targetRecall?: number;
  /** Report without storing. */
  readonly dryRun?: boolean;
  /** Seed of the cross-validation split. */
  readonly seed?: number;
}

export interface FoldResult {
  /** Alpha chosen on the other fold's queries. */
  readonly alpha: number;
  /** Its nDCG@10 on the queries it was chosen on. */
  readonly 'train_ndcg@10': number;
  /** Its nDCG@10 on this fold's queries (never seen when choosing). */
  readonly 'test_ndcg@10': number;
  readonly test_queries: number;
}

export interface TuneResult {
  readonly collection: string;
  readonly dataset: string;
  readonly queries: number;
  readonly generation: number;
  readonly model: string;
  readonly alpha: {
    /** Best alpha over all queries: the one stored. */
    readonly chosen: number;
    readonly previous: number;
    /** 2-fold cross-validated nDCG@10 of choosing alpha this way: the estimate to report. */
    readonly 'cv_ndcg@10': number;
    /** nDCG@10 at the chosen alpha (and efSearch) on the queries it was chosen on (optimistic). */
    readonly 'in_sample_ndcg@10': number;
    /** Hybrid nDCG@10 of the collection as it was (previous alpha and efSearch). */
    readonly 'previous_ndcg@10': number;
    readonly folds: readonly FoldResult[];
    readonly seed: number;
    /** Mean nDCG@10 over all queries for every alpha of the grid. */
    readonly grid: readonly { readonly alpha: number; readonly 'ndcg@10': number }[];
  };
  /** null for backends without an efSearch (Pinecone). */
  readonly ef_search: {
    readonly chosen: number;
    readonly previous: number;
    readonly target_recall: number;
    /** false when no ef on the ladder reached the target (the largest tried is chosen). */
    readonly reached: boolean;
    /** ANN recall@10 at every ef tried, ascending; the search stops at the first that reaches the target. */
    readonly sweep: readonly { readonly ef: number; readonly 'ann_recall@10': number }[];
  } | null;
  /** Whether alpha and efSearch were stored as the collection's defaults. */
  readonly stored: boolean;
  readonly took_ms: number;
}

export function alphaGrid(step = ALPHA_STEP): number[] {
  const n = Math.round(1 / step);
  return Array.from({ length: n + 1 }, (_, i) => Math.round(i * step * 1000) / 1000);
}

function mean(values: readonly number[], idx: readonly number[]): number {
  if (idx.length === 0) return 0;
  let s = 0;
  for (const i of idx) s += values[i]!;
  return s / idx.length;
}

/** The grid alpha with the best mean over `idx`; ties go to the one nearest `prefer`, then the smaller. */
function bestAlpha(grid: readonly number[], scores: readonly (readonly number[])[], idx: readonly number[], prefer: number): { alpha: number; score: number } {
  let best = { i: 0, score: -Infinity };
  grid.forEach((alpha, i) => {
    const score = mean(scores[i]!, idx);
    const better = score > best.score + 1e-12;
    const tie = Math.abs(score - best.score) <= 1e-12 && Math.abs(alpha - prefer) < Math.abs(grid[best.i]! - prefer);
    if (better || tie) best = { i, score };
  });
  return { alpha: grid[best.i]!, score: best.score };
}

export async function tuneCollection(deps: EvalDeps, collection: string, datasetDir: string | EvalDataset, opts: TuneOptions = {}): Promise<TuneResult> {
  const started = performance.now();
  const target = opts.targetRecall ?? DEFAULT_TARGET_RECALL;
  if (typeof target !== 'number' || !(target > 0 && target <= 1)) throw new InvalidInputError(`target recall must be in (0, 1], got ${target}`);
  const seed = opts.seed ?? DEFAULT_SEED;
  const row = requireCollection(deps, collection);
  const generation = liveGeneration(deps, row);
  const dataset = typeof datasetDir === 'string' ? readEvalDataset(datasetDir) : datasetDir;
  missingJudgedDocuments(deps, row.name, dataset);
  const queries = dataset.queries;
  if (queries.length < 2) throw new InvalidInputError('tuning needs at least 2 judged queries (2-fold cross-validation)');

  // Query vectors as text searches make them; searches pass them (hybrid: with the text), so
  // ranking is the text search's and the tuning queries stay out of drift detection.
  const vectors = await embedQueries(deps, generation.model, queries.map((q) => q.text));

  // ---- efSearch ----
  let efResult: TuneResult['ef_search'] = null;
  if (generation.backend === 'hnsw') {
    const units = vectors.map((v) => v.unit);
    const exact = await exactTopK(deps.store, generation.id, units, ANN_K);
    const index = await deps.indexes.get(row, generation);
    const count = await index.count();
    const sweep: { ef: number; 'ann_recall@10': number }[] = [];
    let reached = false;
    for (const ef of EF_LADDER) {
      const recall = await annRecall(deps.store, generation.id, index, units, exact, ANN_K, ef);
      sweep.push({ ef, 'ann_recall@10': recall });
      if (recall >= target) {
        reached = true;
        break;
      }
      if (ef >= count) break; // the graph search already visits every vector
    }
    efResult = { chosen: sweep.at(-1)!.ef, previous: row.hnsw.efSearch, target_recall: target, reached, sweep };
  }

  // ---- alpha ----
  // What the collection gives now (its alpha and efSearch), through the search service.
  let previousSum = 0;
  for (const [i, q] of queries.entries()) {
    const res = await deps.search.search(row.name, { mode: 'hybrid', query: q.text, vector: vectors[i]!.raw, k: 10, generation: generation.id });
    previousSum += ndcgAt(10, res.results.map((r) => r.id), q.relevant);
  }
  // Candidate lists as hybrid search fetches them, at the efSearch about to be stored.
  const ef = efResult?.chosen;
  const lists: { dense: RankedScore[]; keyword: RankedScore[] }[] = [];
  for (const [i, q] of queries.entries()) {
    const dense = await deps.search.search(row.name, { mode: 'dense', vector: vectors[i]!.raw, k: CANDIDATES, ef, generation: generation.id });
    const keyword = await deps.search.search(row.name, { mode: 'keyword', query: q.text, k: CANDIDATES, generation: generation.id });
    lists.push({ dense: dense.results.map(({ id, score }) => ({ id, score })), keyword: keyword.results.map(({ id, score }) => ({ id, score })) });
  }
  const ndcgAtAlpha = (alpha: number): number[] =>
    queries.map((q, i) => ndcgAt(10, fuse(lists[i]!.dense, lists[i]!.keyword, alpha, 10).map((h) => h.id), q.relevant));
  const grid = alphaGrid();
  const scores = grid.map(ndcgAtAlpha);
  const all = queries.map((_, i) => i);
  const previous = row.hybridAlpha;
  const chosen = bestAlpha(grid, scores, all, previous);

  const shuffled = seededShuffle(all, seed);
  const half = Math.ceil(shuffled.length / 2);
  const foldIdx = [shuffled.slice(0, half).sort((a, b) => a - b), shuffled.slice(half).sort((a, b) => a - b)];
  const folds: FoldResult[] = [];
  let outOfFold = 0;
  for (let f = 0; f < 2; f++) {
    const train = foldIdx[1 - f]!;
    const test = foldIdx[f]!;
    const pick = bestAlpha(grid, scores, train, previous);
    const testScore = mean(scores[grid.indexOf(pick.alpha)]!, test);
    outOfFold += testScore * test.length;
    folds.push({ alpha: pick.alpha, 'train_ndcg@10': pick.score, 'test_ndcg@10': testScore, test_queries: test.length });
  }

  if (!opts.dryRun) {
    const current = requireCollection(deps, collection);
    deps.store.updateCollection(collection, {
      hybridAlpha: chosen.alpha,
      ...(efResult ? { hnsw: { ...current.hnsw, efSearch: efResult.chosen } } : {}),
    });
  }

  return {
    collection: row.name,
    dataset: dataset.dir,
    queries: queries.length,
    generation: generation.id,
    model: generation.model,
    alpha: {
      chosen: chosen.alpha,
      previous,
      'cv_ndcg@10': outOfFold / queries.length,
      'in_sample_ndcg@10': chosen.score,
      'previous_ndcg@10': previousSum / queries.length,
      folds,
      seed,
      grid: grid.map((alpha, i) => ({ alpha, 'ndcg@10': mean(scores[i]!, all) })),
    },
    ef_search: efResult,
    stored: !opts.dryRun,
    took_ms: Math.round(performance.now() - started),
  };
}
