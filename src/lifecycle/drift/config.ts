/**
 * Drift settings: defaults in one place (README "Drift detection" mirrors them), overridable
 * per collection in `settings.drift` (snake_case keys, as the API takes them).
 *
 * Defaults were chosen by measurement with USE-Lite (512-d) on Cranfield and CISI
 * (tests/acceptance/drift.test.ts prints the figures):
 * - query windows of 25: Cranfield queries 101-225 against the first 100 have a centroid
 *   distance of at most ~0.05, CISI query windows 0.39-0.54, and a window with 40% CISI
 *   queries ~0.10, hence 0.10. The MMD test alone is not enough: the two halves of Cranfield's
 *   query set are not exchangeable (p < 0.01 in ~25% of windows), so a window alerts only when
 *   the shift is both significant (p < alpha) and large (centroid distance).
 * - document windows of 100: consecutive Cranfield documents against a sample of the corpus
 *   stay under ~0.03 (under ~0.045 against a reference of the first 200 documents, i.e. during
 *   an initial load); CISI document windows are at least ~0.28; half-CISI windows ~0.11: 0.08.
 * - PSI of top-1 scores over 25 queries is noisy (5 bins; Cranfield's 99th percentile ~0.9,
 *   CISI 1.5-3.6), hence 1.5 rather than the large-sample rule of thumb 0.25.
 */
import { z } from 'zod';

export type DriftKind = 'queries' | 'documents';
export const DRIFT_KINDS: readonly DriftKind[] = ['queries', 'documents'];

export interface KindConfig {
  /** Items per tumbling window. */
  readonly window: number;
  /** Reference size: first queries seen (queries), or sampled document vectors (documents). */
  readonly referenceSize: number;
  /** A window alerts on embeddings when centroid distance > this and the MMD p-value < alpha. */
  readonly centroidDistance: number;
  /** Alert when the unknown-token rate (unknown / tokens) exceeds the reference's by this much. */
  readonly unknownRateDelta: number;
  /** Alert when the truncation rate (truncated texts / texts) exceeds the reference's by this much. */
  readonly truncationRateDelta: number;
}

export interface QueryKindConfig extends KindConfig {
  /** Alert when the PSI of top-1 dense scores against the reference exceeds this. */
  readonly psi: number;
  /** PSI bins (at reference quantiles); 0: window / 5, between 2 and 10. */
  readonly psiBins: number;
}

export interface DocumentKindConfig extends KindConfig {
  /** Documents the live generation must hold before a reference is sampled automatically. */
  readonly minReference: number;
  /** Re-sample the reference when the collection has grown by this factor while drift is ok (0: never). */
  readonly refreshGrowth: number;
}

export interface DriftConfig {
  readonly queries: QueryKindConfig;
  readonly documents: DocumentKindConfig;
  /** Significance level of the MMD permutation test. */
  readonly alpha: number;
  /** Permutations of the MMD test. */
  readonly permutations: number;
  /** The MMD test subsamples each side to at most this many vectors. */
  readonly maxPerSide: number;
  /** Consecutive alert windows before `drifted` (one alert window gives `warning`). */
  readonly persist: number;
  /** Consecutive clean windows before `ok` again. */
  readonly recover: number;
  /** History rows kept per collection and kind. */
  readonly history: number;
}

export const DEFAULT_DRIFT_CONFIG: DriftConfig = {
  queries: {
    window: 25,
    referenceSize: 100,
    centroidDistance: 0.1,
    unknownRateDelta: 0.01,
    truncationRateDelta: 0.2,
    psi: 1.5,
    psiBins: 0,
  },
  documents: {
    window: 100,
    referenceSize: 500,
    centroidDistance: 0.08,
    unknownRateDelta: 0.01,
    truncationRateDelta: 0.2,
    minReference: 200,
    refreshGrowth: 2,
  },
  alpha: 0.01,
  permutations: 200,
  maxPerSide: 200,
  persist: 2,
  recover: 2,
  history: 500,
};

const rateDelta = z.number().min(0).max(1);
const kindFields = {
  window: z.number().int().min(5).max(10_000),
  reference_size: z.number().int().min(10).max(5000),
  centroid_distance: z.number().min(0).max(2),
  unknown_rate_delta: rateDelta,
  truncation_rate_delta: rateDelta,
};

/** `settings.drift` as clients write it (every field optional). */
export const driftSettingsSchema = z
  .object({
    queries: z
      .object({ ...kindFields, psi: z.number().min(0), psi_bins: z.number().int().min(0).max(50) })
      .partial()
      .strict(),
    documents: z
      .object({ ...kindFields, min_reference: z.number().int().min(2).max(1_000_000), refresh_growth: z.number().min(0).max(1000) })
      .partial()
      .strict(),
    alpha: z.number().gt(0).max(1),
    permutations: z.number().int().min(0).max(10_000),
    max_per_side: z.number().int().min(10).max(2000),
    persist: z.number().int().min(1).max(100),
    recover: z.number().int().min(1).max(100),
    history: z.number().int().min(1).max(100_000),
  })
  .partial()
  .strict();

export type DriftSettings = z.infer<typeof driftSettingsSchema>;

/** Effective configuration: defaults overlaid with the collection's `settings.drift` (invalid settings fall back to defaults). */
export function driftConfigFrom(settings: Readonly<Record<string, unknown>> | undefined): DriftConfig {
  const parsed = driftSettingsSchema.safeParse(settings?.drift ?? {});
  const s: DriftSettings = parsed.success ? parsed.data : {};
  const d = DEFAULT_DRIFT_CONFIG;
  const q = s.queries ?? {};
  const doc = s.documents ?? {};
  return {
    queries: {
      window: q.window ?? d.queries.window,
      referenceSize: q.reference_size ?? d.queries.referenceSize,
      centroidDistance: q.centroid_distance ?? d.queries.centroidDistance,
      unknownRateDelta: q.unknown_rate_delta ?? d.queries.unknownRateDelta,
      truncationRateDelta: q.truncation_rate_delta ?? d.queries.truncationRateDelta,
      psi: q.psi ?? d.queries.psi,
      psiBins: q.psi_bins ?? d.queries.psiBins,
    },
    documents: {
      window: doc.window ?? d.documents.window,
      referenceSize: doc.reference_size ?? d.documents.referenceSize,
      centroidDistance: doc.centroid_distance ?? d.documents.centroidDistance,
      unknownRateDelta: doc.unknown_rate_delta ?? d.documents.unknownRateDelta,
      truncationRateDelta: doc.truncation_rate_delta ?? d.documents.truncationRateDelta,
      minReference: doc.min_reference ?? d.documents.minReference,
      refreshGrowth: doc.refresh_growth ?? d.documents.refreshGrowth,
    },
    alpha: s.alpha ?? d.alpha,
    permutations: s.permutations ?? d.permutations,
    maxPerSide: s.max_per_side ?? d.maxPerSide,
    persist: s.persist ?? d.persist,
    recover: s.recover ?? d.recover,
    history: s.history ?? d.history,
  };
}

/** The configuration as the API shows it (snake_case, like `settings.drift`). */
export function driftConfigView(c: DriftConfig) {
  return {
    queries: {
      window: c.queries.window,
      reference_size: c.queries.referenceSize,
      centroid_distance: c.queries.centroidDistance,
      unknown_rate_delta: c.queries.unknownRateDelta,
      truncation_rate_delta: c.queries.truncationRateDelta,
      psi: c.queries.psi,
      psi_bins: c.queries.psiBins,
    },
    documents: {
      window: c.documents.window,
      reference_size: c.documents.referenceSize,
      centroid_distance: c.documents.centroidDistance,
      unknown_rate_delta: c.documents.unknownRateDelta,
      truncation_rate_delta: c.documents.truncationRateDelta,
      min_reference: c.documents.minReference,
      refresh_growth: c.documents.refreshGrowth,
    },
    alpha: c.alpha,
    permutations: c.permutations,
    max_per_side: c.maxPerSide,
    persist: c.persist,
    recover: c.recover,
    history: c.history,
  };
}

/** Merges a partial update into stored drift settings (one level deep for queries/documents). */
export function mergeDriftSettings(current: unknown, patch: DriftSettings): DriftSettings {
  const base = driftSettingsSchema.safeParse(current ?? {});
  const b: DriftSettings = base.success ? base.data : {};
  return {
    ...b,
    ...patch,
    ...(b.queries || patch.queries ? { queries: { ...b.queries, ...patch.queries } } : {}),
    ...(b.documents || patch.documents ? { documents: { ...b.documents, ...patch.documents } } : {}),
  };
}

export function psiBinsFor(config: QueryKindConfig): number {
  return config.psiBins > 0 ? config.psiBins : Math.min(10, Math.max(2, Math.floor(config.window / 5)));
}
