/**
 * Drift as the API shows it (snake_case JSON): `GET /v1/collections/{name}/drift` (the status,
 * its window metrics, history and the policy decision) and the references that
 * `POST /v1/collections/{name}/drift/reference` returns. Built from the drift monitor's domain
 * objects (src/lifecycle/drift/monitor.ts).
 */
import { DRIFT_KINDS, driftConfigView, type DriftKind } from '../../lifecycle/drift/config.ts';
import type { DriftState, MetricValue } from '../../lifecycle/drift/evaluate.ts';
import type { DriftKindStatus, DriftStatus, LastWindow, ReferenceSummary } from '../../lifecycle/drift/monitor.ts';
import type { PolicyDecision } from '../../lifecycle/policy.ts';
import { trainingSettingsView, type TrainingSettings } from '../../lifecycle/training/settings.ts';
import type { DriftHistoryRow } from '../../store/types.ts';

export interface ReferenceSummaryView {
  readonly kind: DriftKind;
  readonly source: string;
  readonly count: number;
  readonly generation: number;
  readonly created_at: string;
}

export interface DriftMetricView {
  readonly name: string;
  readonly kind: DriftKind;
  readonly value: number | null;
  readonly threshold: number | null;
  readonly exceeded: boolean;
  readonly window: { readonly index: number; readonly size: number; readonly generation: number; readonly evaluated_at: string };
}

export interface DriftHistoryView {
  readonly kind: DriftKind;
  readonly state: string;
  readonly alert: boolean;
  readonly reasons: readonly string[];
  readonly window: unknown;
  readonly metrics: Readonly<Record<string, number | null>>;
  /** Milliseconds the window's statistics took. */
  readonly ms: number | null;
  readonly created_at: string;
}

export interface KindStatusView {
  readonly state: DriftState;
  readonly reference: (ReferenceSummaryView & { readonly stale: boolean }) | null;
  /** Queries gathered toward an observed reference. */
  readonly collecting: number;
  /** Items in the current, not yet full window. */
  readonly buffered: number;
  readonly windows: number;
  readonly dropped_windows: number;
  readonly consecutive_alerts: number;
  readonly consecutive_clean: number;
}

export interface DriftStatusView {
  readonly collection: string;
  readonly state: DriftState;
  readonly generation: number;
  readonly model: string;
  readonly metrics: DriftMetricView[];
  readonly kinds: Record<DriftKind, KindStatusView>;
  readonly history: DriftHistoryView[];
  readonly config: ReturnType<typeof driftConfigView>;
}

export function referenceSummaryView(r: ReferenceSummary): ReferenceSummaryView {
  return { kind: r.kind, source: r.source, count: r.count, generation: r.generation, created_at: r.createdAt };
}

/** The last window's metrics of one kind. */
export function driftMetricViews(kind: DriftKind, last: LastWindow): DriftMetricView[] {
  const window = { index: last.index, size: last.size, generation: last.generation, evaluated_at: last.evaluatedAt };
  return last.evaluation.metrics.map((m) => ({ name: m.name, kind, value: m.value, threshold: m.threshold, exceeded: m.exceeded, window }));
}

export function kindStatusView(k: DriftKindStatus): KindStatusView {
  return {
    state: k.state,
    reference: k.reference ? { ...referenceSummaryView(k.reference), stale: k.reference.stale } : null,
    collecting: k.collecting,
    buffered: k.buffered,
    windows: k.windows,
    dropped_windows: k.droppedWindows,
    consecutive_alerts: k.consecutiveAlerts,
    consecutive_clean: k.consecutiveClean,
  };
}

/** A drift_history row: its metric values by name. */
export function driftHistoryView(r: DriftHistoryRow): DriftHistoryView {
  const m = r.metrics;
  const values: Record<string, number | null> = {};
  for (const metric of (Array.isArray(m.metrics) ? m.metrics : []) as MetricValue[]) values[metric.name] = metric.value;
  return {
    kind: r.kind,
    state: r.state,
    alert: m.alert === true,
    reasons: Array.isArray(m.reasons) ? (m.reasons as string[]) : [],
    window: m.window ?? null,
    metrics: values,
    ms: typeof m.ms === 'number' ? m.ms : null,
    created_at: r.createdAt,
  };
}

/** GET /drift without its `policy` part. */
export function driftStatusView(s: DriftStatus): DriftStatusView {
  const metrics: DriftMetricView[] = [];
  const kinds = {} as Record<DriftKind, KindStatusView>;
  for (const kind of DRIFT_KINDS) {
    const k = s.kinds[kind];
    if (k.last) metrics.push(...driftMetricViews(kind, k.last));
    kinds[kind] = kindStatusView(k);
  }
  return {
    collection: s.collection,
    state: s.state,
    generation: s.generation,
    model: s.model,
    metrics,
    kinds,
    history: s.history.map(driftHistoryView),
    config: driftConfigView(s.config),
  };
}

/** GET /drift's `policy` part: the decision now and the last one that acted. */
export function driftPolicyView(decision: PolicyDecision, lastAction: PolicyDecision | undefined, training: TrainingSettings) {
  return {
    mode: decision.mode,
    decision: decision.decision,
    reason: decision.reason,
    trigger: decision.trigger,
    active: decision.active,
    target: decision.target,
    training: trainingSettingsView(training),
    last_action: lastAction ? { decision: lastAction.decision, reason: lastAction.reason, at: lastAction.at } : null,
  };
}
