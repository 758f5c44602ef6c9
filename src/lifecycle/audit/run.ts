/**
 * The fairness audit of a collection (POST /v1/collections/{name}/audit, `sextant audit`): for
 * each group of documents sharing a value of a metadata field, its share of the collection, of
 * the position-weighted exposure in the top-k over a query set, and (with judgements) of the
 * relevance, and the disparities that follow, with bootstrap intervals (exposure.ts); with
 * `compare`, the same figures for a second generation (or model) side by side.
 *
 * Searches go through the search service with the request a user makes, as evaluation does
 * (src/lifecycle/eval/run.ts): one query vector per query and generation, made by the engine
 * call a text search makes, passed as `vector` (hybrid: with the text), so rankings are the text
 * search's and the audit's queries stay out of drift detection. Groups are read once from the
 * live generation's documents (every write reaches it), so both sides of a comparison share one
 * group table and one set of collection shares.
 */
import { InvalidInputError } from '../../errors.ts';
import { liveGeneration, requireCollection, requireGeneration } from '../../search/context.ts';
import type { SearchMode } from '../../search/query.ts';
import type { CollectionRow, GenerationRow } from '../../store/types.ts';
import { FORBIDDEN_FIELD } from '../../values/filter.ts';
import { embedQuery } from '../eval/ann.ts';
import { resolveGenerationRef } from '../eval/compare.ts';
import type { EvalDeps } from '../eval/deps.ts';
import { missingJudgedDocuments } from '../eval/run.ts';
import {
  auditFigures,
  exposureAt,
  maxShareSumDeviation,
  permutationFigures,
  queryExposureShares,
  queryRelevanceShares,
  type GroupedHit,
  type GroupFigures,
  type GroupValue,
  type PermutationFigures,
  type Ratio,
  type SparseShares,
} from './exposure.ts';
import { groupDocuments, type GroupTable } from './groups.ts';
import { querySetOf, type AuditQuerySet, type AuditQuerySource } from './queries.ts';

export const AUDIT_MODES: readonly SearchMode[] = ['dense', 'keyword', 'hybrid'];
export const DEFAULT_AUDIT_K = 10;
export const DEFAULT_BOOTSTRAP = 1000;
export const DEFAULT_AUDIT_SEED = 1;
export const AUDIT_CONFIDENCE = 0.95;
/** Most query texts one request may carry. */
export const MAX_AUDIT_QUERIES = 10_000;
/** Shares whose sum is this close to 1 count as summing to 1 (float rounding). */
const SUM_TOLERANCE = 1e-9;

export interface AuditOptions {
  /** The metadata field whose values form the groups (top-level). */
  readonly groupBy: string;
  readonly mode?: SearchMode;
  /** Results per query (default 10). */
  readonly k?: number;
  /** Generation to audit (default: the live one). */
  readonly generation?: number;
  /** A second generation id, or a model one of the collection's generations uses, audited beside it. */
  readonly compare?: string | number;
  /** Bootstrap resamples (default 1000). */
  readonly bootstrap?: number;
  readonly seed?: number;
}

export interface AuditGroup extends Omit<GroupFigures, 'exposure_over_collection'> {
  readonly value: GroupValue;
  /** With the permutation test over documents (exposure.ts: permutationFigures). */
  readonly exposure_over_collection: Ratio & PermutationFigures;
}

export interface AuditSide {
  readonly generation: number;
  readonly model: string;
  /** Queries whose top-k holds at least one grouped document (the ones averaged). */
  readonly queries: number;
  /** Queries whose top-k holds no grouped document (left out of every mean). */
  readonly skipped_queries: number;
  readonly groups: readonly AuditGroup[];
  /** Every audited query's exposure shares sum to 1 (within 1e-9). */
  readonly per_query_exposure_sums_to_one: boolean;
  /** The largest |sum of a query's exposure shares - 1|. */
  readonly exposure_sum_max_deviation: number;
}

export interface AuditReport extends AuditSide {
  readonly collection: string;
  readonly group_by: string;
  readonly mode: SearchMode;
  readonly k: number;
  /** The BEIR folder of the queries and judgements; null for plain query texts. */
  readonly dataset: string | null;
  /** Documents that have the field (with a string, number or boolean value). */
  readonly documents: number;
  readonly documents_without_field: number;
  /** Judged document ids the collection does not hold; null without judgements. */
  readonly missing_judged_documents: number | null;
  readonly bootstrap: { readonly resamples: number; readonly seed: number; readonly confidence: number };
  readonly compare?: AuditSide;
  readonly took_ms: number;
}

function checkInt(value: number, name: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidInputError(`${name} must be an integer between ${min} and ${max}, got ${value}`);
}

/** Groups of the collection's documents by `field` (from the live generation); 400s for a field no document has. */
export function readGroups(deps: EvalDeps, row: CollectionRow, field: string): GroupTable {
  return groupDocuments(deps.store.iterateVectors(liveGeneration(deps, row).id), field, row.name);
}

async function auditSide(
  deps: EvalDeps,
  row: CollectionRow,
  generation: GenerationRow,
  set: AuditQuerySet,
  table: GroupTable,
  o: { mode: SearchMode; k: number; resamples: number; seed: number },
): Promise<AuditSide> {
  const exposure: SparseShares[] = [];
  const relevance: (SparseShares | undefined)[] = [];
  const hits: GroupedHit[][] = [];
  let skipped = 0;
  for (const q of set.queries) {
    const vector = o.mode === 'keyword' ? undefined : (await embedQuery(deps, generation.model, q.text)).raw;
    const res = await deps.search.search(row.name, {
      generation: generation.id,
      mode: o.mode,
      query: o.mode === 'dense' ? undefined : q.text,
      vector,
      k: o.k,
    });
    const shares = queryExposureShares(res.results.map((hit) => table.groupOf.get(hit.id)));
    if (!shares) {
      skipped++;
      continue;
    }
    exposure.push(shares);
    const grouped: GroupedHit[] = [];
    res.results.forEach((hit, i) => {
      const doc = table.docIndex.get(hit.id);
      if (doc !== undefined) grouped.push({ doc, exposure: exposureAt(i + 1) });
    });
    hits.push(grouped);
    if (q.relevant) relevance.push(queryRelevanceShares(q.relevant, (id) => table.groupOf.get(id)));
  }
  if (exposure.length === 0) {
    throw new InvalidInputError(
      `none of the ${set.queries.length} queries found a document with the field in its top ${o.k} (generation ${generation.id}, ${o.mode}): nothing to audit`,
    );
  }
  const figures = auditFigures({
    documents: table.documents,
    exposure,
    relevance: set.dataset ? relevance : undefined,
    resamples: o.resamples,
    seed: o.seed,
    confidence: AUDIT_CONFIDENCE,
  });
  // Its own stream of the seed: the permutations do not share draws with the bootstrap.
  const permutation = permutationFigures({ labels: table.labels, hits, resamples: o.resamples, seed: (o.seed ^ 0x9e3779b9) >>> 0, confidence: AUDIT_CONFIDENCE });
  const deviation = maxShareSumDeviation(exposure);
  const groups: AuditGroup[] = figures
    .map((f, g) => ({ value: table.values[g]!, ...f, exposure_over_collection: { ...f.exposure_over_collection, ...permutation[g]! } }))
    .sort((a, b) => b.documents - a.documents || String(a.value).localeCompare(String(b.value)));
  return {
    generation: generation.id,
    model: generation.model,
    queries: exposure.length,
    skipped_queries: skipped,
    groups,
    per_query_exposure_sums_to_one: deviation <= SUM_TOLERANCE,
    exposure_sum_max_deviation: deviation,
  };
}

/** Audits one generation (default: live) of a collection, and with `compare` a second one beside it. */
export async function auditCollection(deps: EvalDeps, collection: string, source: AuditQuerySource, options: AuditOptions): Promise<AuditReport> {
  const started = performance.now();
  const row = requireCollection(deps, collection);
  const field = options.groupBy;
  if (typeof field !== 'string' || field.trim() === '') throw new InvalidInputError('group_by must name a metadata field');
  if (field === FORBIDDEN_FIELD) throw new InvalidInputError(`'${FORBIDDEN_FIELD}' is not a metadata field`);
  const mode = options.mode ?? 'dense';
  if (!AUDIT_MODES.includes(mode)) throw new InvalidInputError(`unknown mode '${String(mode)}'; use ${AUDIT_MODES.join(', ')}`);
  const k = options.k ?? DEFAULT_AUDIT_K;
  checkInt(k, 'k', 1, 10_000);
  const resamples = options.bootstrap ?? DEFAULT_BOOTSTRAP;
  checkInt(resamples, 'bootstrap', 1, 100_000);
  const seed = options.seed ?? DEFAULT_AUDIT_SEED;
  if (!Number.isInteger(seed)) throw new InvalidInputError(`seed must be an integer, got ${seed}`);

  const generation = options.generation === undefined ? liveGeneration(deps, row) : requireGeneration(deps, row, options.generation);
  const other = options.compare === undefined ? undefined : await resolveGenerationRef(deps, row, options.compare);
  if (other && other.id === generation.id) throw new InvalidInputError(`compare names generation ${other.id}, the one being audited`);
  const set = querySetOf(source);
  const missing = set.dataset === null ? null : missingJudgedDocuments(deps, row.name, set.dataset);
  const table = readGroups(deps, row, field);
  const o = { mode, k, resamples, seed };
  const main = await auditSide(deps, row, generation, set, table, o);
  const compared = other ? await auditSide(deps, row, other, set, table, o) : undefined;
  return {
    collection: row.name,
    group_by: field,
    mode,
    k,
    dataset: set.dataset?.dir ?? null,
    documents: table.documents.reduce((a, b) => a + b, 0),
    documents_without_field: table.without,
    missing_judged_documents: missing,
    bootstrap: { resamples, seed, confidence: AUDIT_CONFIDENCE },
    ...main,
    ...(compared ? { compare: compared } : {}),
    took_ms: Math.round(performance.now() - started),
  };
}
