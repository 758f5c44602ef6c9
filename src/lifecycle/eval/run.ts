/**
 * Retrieval evaluation of a collection against a BEIR evaluation set: nDCG@10, MRR@10 and
 * Recall@k (default 100) per search mode, ANN recall@10 of the vector index against exact
 * search, and search latency; two generations (or models) side by side; and the per-collection
 * evaluation set the re-embedding quality gate checks a new generation against (compare.ts,
 * eval-set.ts, gate.ts).
 *
 * Every figure is measured through the search service itself, with the request a user makes:
 * nDCG@10 and MRR@10 from top-10 searches (for dense, a k=10 request searches the graph at the
 * collection's efSearch; a k=100 one would search wider), Recall@k from top-k searches. Keyword
 * and hybrid top-10 lists are prefixes of their top-100 lists (BM25 order is deterministic and
 * hybrid always fuses 100 candidates a side), so one top-k search serves all three metrics.
 * Searches carry the query vector (made by the same engine call a text search makes) instead of
 * the text, so evaluation traffic never feeds drift detection; rankings are the text search's.
 */
import { InvalidInputError } from '../../errors.ts';
import { liveGeneration, requireCollection, requireGeneration } from '../../search/context.ts';
import { mrrAt, ndcgAt, recallAt } from '../../search/metrics.ts';
import type { SearchMode } from '../../search/query.ts';
import { annRecall, embedQuery, exactTopK, type QueryVector } from './ann.ts';
import { readEvalDataset, type EvalDataset } from './dataset.ts';
import type { EvalDeps } from './deps.ts';

export const EVAL_MODES: readonly SearchMode[] = ['dense', 'keyword', 'hybrid'];
const ANN_K = 10;
const DEFAULT_RECALL_K = 100;
const GET_CHUNK = 500;

export interface ModeMetrics {
  readonly 'ndcg@10': number;
  readonly 'mrr@10': number;
  /** `recall@<k>`, k = the evaluation's recall depth (100 by default). */
  readonly [metric: string]: number;
}

export interface EvalResult {
  readonly collection: string;
  /** Absolute path of the BEIR folder. */
  readonly dataset: string;
  /** Queries evaluated: those with at least one relevance judgement > 0. */
  readonly queries: number;
  readonly generation: number;
  readonly model: string;
  /** Recall depth (results per query for Recall@k). */
  readonly k: number;
  /** efSearch the dense searches ran at (the collection default unless overridden). */
  readonly ef_search: number;
  readonly hybrid_alpha: number;
  readonly modes: Partial<Record<SearchMode, ModeMetrics>>;
  /** Mean share of the exact top-10 (brute-force cosine) that the index returns; null without dense. */
  readonly 'ann_recall@10': number | null;
  /** Wall time of the dense top-10 searches (query embedding included); null without dense. */
  readonly latency_ms: { readonly p50: number; readonly p99: number } | null;
  /** Judged document ids that the collection does not hold (non-zero hints at an id mismatch). */
  readonly missing_judged_documents: number;
  readonly took_ms: number;
}

export interface EvalReport extends EvalResult {
  readonly compare?: { readonly generation: number; readonly model: string; readonly result: EvalResult };
}

export interface EvalOptions {
  /** Generation to evaluate (default: the live one). */
  readonly generation?: number;
  readonly modes?: readonly SearchMode[];
  /** Recall depth, at least 10 (default 100). */
  readonly k?: number;
  /** efSearch override for the dense searches and ANN recall. */
  readonly ef?: number;
  /** Measure ANN recall@10 against exact search (default true; needs dense). */
  readonly annRecall?: boolean;
  /** Measure Recall@k (default true); without it every search is a top-10 one. */
  readonly recall?: boolean;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Judged document ids the collection does not hold; throws when it holds none of them. */
export function missingJudgedDocuments(deps: EvalDeps, collection: string, dataset: EvalDataset): number {
  const ids = [...new Set(dataset.queries.flatMap((q) => [...q.relevant.keys()]))];
  let present = 0;
  for (let i = 0; i < ids.length; i += GET_CHUNK) present += deps.store.getDocuments(collection, ids.slice(i, i + GET_CHUNK)).size;
  if (present === 0) {
    throw new InvalidInputError(
      `none of the ${ids.length} document ids judged in ${dataset.dir} exist in collection '${collection}': ` +
        'index the corpus under its BEIR _id (sextant index does) before evaluating',
    );
  }
  return ids.length - present;
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 10 || k > 10_000) throw new InvalidInputError(`k must be an integer between 10 and 10000, got ${k}`);
}

function checkEf(ef: number | undefined): void {
  if (ef !== undefined && (!Number.isInteger(ef) || ef < 1 || ef > 10_000)) throw new InvalidInputError(`ef must be an integer between 1 and 10000, got ${ef}`);
}

/** Evaluates one generation (default: live) of a collection on a BEIR folder (or a dataset already read). */
export async function evaluateCollection(
  deps: EvalDeps,
  collection: string,
  datasetDir: string | EvalDataset,
  opts: EvalOptions = {},
): Promise<EvalResult> {
  const started = performance.now();
  const row = requireCollection(deps, collection);
  const generation = opts.generation === undefined ? liveGeneration(deps, row) : requireGeneration(deps, row, opts.generation);
  const dataset = typeof datasetDir === 'string' ? readEvalDataset(datasetDir) : datasetDir;
  const modes = opts.modes ?? EVAL_MODES;
  if (modes.length === 0) throw new InvalidInputError('no search mode to evaluate');
  for (const m of modes) if (!EVAL_MODES.includes(m)) throw new InvalidInputError(`unknown mode '${m}'; use ${EVAL_MODES.join(', ')}`);
  const k = opts.k ?? DEFAULT_RECALL_K;
  checkK(k);
  checkEf(opts.ef);
  const missing = missingJudgedDocuments(deps, row.name, dataset);
  const ef = opts.ef ?? row.hnsw.efSearch;
  const base = { generation: generation.id, ef: opts.ef };
  const withRecall = opts.recall !== false;
  const queries = dataset.queries;
  const summary = (ndcg: number, mrr: number, recall: number): ModeMetrics => ({
    'ndcg@10': ndcg / queries.length,
    'mrr@10': mrr / queries.length,
    ...(withRecall ? { [`recall@${k}`]: recall / queries.length } : {}),
  });

  const metrics: Partial<Record<SearchMode, ModeMetrics>> = {};
  let latency: EvalResult['latency_ms'] = null;
  let ann: number | null = null;

  // Query vectors, one per query, made as a text search makes them; every search below passes
  // its vector (hybrid: with the text for BM25), so ranking is exactly the text search's while
  // the evaluation's queries stay out of the search observers (drift detection).
  const vectors: (QueryVector | undefined)[] = [];
  const vectorOf = async (i: number): Promise<QueryVector> => (vectors[i] ??= await embedQuery(deps, generation.model, queries[i]!.text));

  if (modes.includes('dense')) {
    // Warm-up (engine and index load) is not a latency sample.
    await deps.search.search(row.name, { ...base, mode: 'dense', vector: (await embedQuery(deps, generation.model, queries[0]!.text)).raw, k: 10 });
    const times: number[] = [];
    let ndcg = 0;
    let mrr = 0;
    let recall = 0;
    for (let i = 0; i < queries.length; i++) {
      const q = queries[i]!;
      // Latency: embedding plus search, the work of a text search.
      const t0 = performance.now();
      const v = await vectorOf(i);
      const top = await deps.search.search(row.name, { ...base, mode: 'dense', vector: v.raw, k: 10 });
      times.push(performance.now() - t0);
      const ids = top.results.map((r) => r.id);
      ndcg += ndcgAt(10, ids, q.relevant);
      mrr += mrrAt(10, ids, q.relevant);
      if (!withRecall) continue;
      const deep = await deps.search.search(row.name, { ...base, mode: 'dense', vector: v.raw, k });
      recall += recallAt(k, deep.results.map((r) => r.id), q.relevant);
    }
    metrics.dense = summary(ndcg, mrr, recall);
    times.sort((a, b) => a - b);
    latency = { p50: round(percentile(times, 50), 2), p99: round(percentile(times, 99), 2) };
    if (opts.annRecall !== false) {
      const units = (vectors as QueryVector[]).map((v) => v.unit);
      const exact = await exactTopK(deps.store, generation.id, units, ANN_K);
      const index = await deps.indexes.get(row, generation);
      ann = await annRecall(deps.store, generation.id, index, units, exact, ANN_K, ef);
    }
  }

  for (const mode of modes) {
    if (mode === 'dense') continue;
    let ndcg = 0;
    let mrr = 0;
    let recall = 0;
    for (let i = 0; i < queries.length; i++) {
      const q = queries[i]!;
      const vector = mode === 'hybrid' ? (await vectorOf(i)).raw : undefined;
      const res = await deps.search.search(row.name, { ...base, mode, query: q.text, vector, k: withRecall ? k : 10 });
      const ids = res.results.map((r) => r.id);
      ndcg += ndcgAt(10, ids, q.relevant);
      mrr += mrrAt(10, ids, q.relevant);
      if (withRecall) recall += recallAt(k, ids, q.relevant);
    }
    metrics[mode] = summary(ndcg, mrr, recall);
  }

  const ordered: Partial<Record<SearchMode, ModeMetrics>> = {};
  for (const m of EVAL_MODES) if (metrics[m]) ordered[m] = metrics[m];
  return {
    collection: row.name,
    dataset: dataset.dir,
    queries: queries.length,
    generation: generation.id,
    model: generation.model,
    k,
    ef_search: ef,
    hybrid_alpha: row.hybridAlpha,
    modes: ordered,
    'ann_recall@10': ann,
    latency_ms: latency,
    missing_judged_documents: missing,
    took_ms: Math.round(performance.now() - started),
  };
}
