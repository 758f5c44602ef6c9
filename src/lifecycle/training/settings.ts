/**
 * Training settings of a collection (`settings.training`, set with PATCH /v1/collections/{name}):
 * whether the policy trains on its own, which kind, and when.
 *
 * - `auto` (default false): with policy `auto`, persistent drift on a collection that follows its
 *   target, growth by `retrain_growth`, or a move of the target to another base model starts a
 *   training job with activate (src/lifecycle/policy.ts).
 * - `kind` (default 'adapter'): an adapter adopts by transforming the stored vectors (no model
 *   run over the corpus); 'static' re-embeds, fast.
 * - `min_documents` (default 200): no automatic training below it. 200 is the drift monitor's
 *   document minimum (documents.min_reference): with fewer, a tenth held out for validation is
 *   20 documents' pseudo-queries, too few for the gate's 0.005 margin to mean anything.
 * - `retrain_growth` (default 1): trains again once the collection holds this fraction more
 *   documents than the last training saw (1: doubled); 0: never on growth alone.
 * - `fairness` (default null): `{group_by, margin?}`, the training gate's fairness check
 *   (fairness.ts) for the jobs the policy starts; null removes it.
 */
import { z } from 'zod';
import { DEFAULT_FAIRNESS_MARGIN, MAX_FAIRNESS_MARGIN } from './fairness.ts';
import type { TrainingKind } from './train.ts';

export interface TrainingSettings {
  readonly auto: boolean;
  readonly kind: TrainingKind;
  readonly minDocuments: number;
  readonly retrainGrowth: number;
  readonly fairness: { readonly groupBy: string; readonly margin: number } | undefined;
}

export const DEFAULT_TRAINING_SETTINGS: TrainingSettings = { auto: false, kind: 'adapter', minDocuments: 200, retrainGrowth: 1, fairness: undefined };

/** `settings.training` as clients write it (every field optional in a PATCH). */
export const trainingSettingsSchema = z
  .object({
    auto: z.boolean(),
    kind: z.enum(['adapter', 'static'] satisfies TrainingKind[]),
    min_documents: z.number().int().min(1).max(1_000_000_000),
    retrain_growth: z.number().min(0).max(1000),
    fairness: z
      .object({
        group_by: z.string().min(1).describe('Metadata field whose values form the groups'),
        margin: z.number().min(0).max(MAX_FAIRNESS_MARGIN).optional().describe(`How much further from exposure parity a group may move (default ${DEFAULT_FAIRNESS_MARGIN})`),
      })
      .strict()
      .nullable(),
  })
  .partial()
  .strict();

export type TrainingSettingsPatch = z.infer<typeof trainingSettingsSchema>;

/** Effective settings: defaults overlaid with the collection's `settings.training` (invalid stored settings fall back to defaults). */
export function trainingSettingsFrom(settings: Readonly<Record<string, unknown>> | undefined): TrainingSettings {
  const parsed = trainingSettingsSchema.safeParse(settings?.training ?? {});
  const s: TrainingSettingsPatch = parsed.success ? parsed.data : {};
  const d = DEFAULT_TRAINING_SETTINGS;
  return {
    auto: s.auto ?? d.auto,
    kind: s.kind ?? d.kind,
    minDocuments: s.min_documents ?? d.minDocuments,
    retrainGrowth: s.retrain_growth ?? d.retrainGrowth,
    fairness: s.fairness ? { groupBy: s.fairness.group_by, margin: s.fairness.margin ?? DEFAULT_FAIRNESS_MARGIN } : d.fairness,
  };
}

/** Merges a PATCH into the stored `settings.training`. */
export function mergeTrainingSettings(current: unknown, patch: TrainingSettingsPatch): TrainingSettingsPatch {
  const base = trainingSettingsSchema.safeParse(current ?? {});
  return { ...(base.success ? base.data : {}), ...patch };
}

/** The effective settings as the API shows them (snake_case, like the PATCH body). */
export function trainingSettingsView(s: TrainingSettings) {
  return {
    auto: s.auto,
    kind: s.kind,
    min_documents: s.minDocuments,
    retrain_growth: s.retrainGrowth,
    fairness: s.fairness ? { group_by: s.fairness.groupBy, margin: s.fairness.margin } : null,
  };
}
