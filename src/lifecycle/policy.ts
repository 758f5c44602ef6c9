/**
 * What drift and a moved target lead to, per collection (`settings.policy`: `notify` by default,
 * or `auto`):
 *
 * - target resolves to a different version than the active one: `auto` starts a re-embedding
 *   to the target (reason `target-changed`, or `drift` when the collection has also drifted);
 *   `notify` only reports it.
 * - drifted and the target is the active version: re-embedding would rebuild the same vectors,
 *   so the decision is `new_model_needed` (in both modes): a new model version is needed.
 * - otherwise nothing (`none`), with the drift state as the reason.
 *
 * A start is not repeated for the same target within `cooldownMs` (a failed or cancelled job
 * is not retried in a loop); a job already running (ConflictError from the starter) counts as
 * started. Decisions are logged with their reason whenever they change, and every action.
 */
import { log } from '../log.ts';
import { liveGeneration, requireCollection } from '../search/context.ts';
import type { EnginePool } from '../embedding/pool.ts';
import type { CollectionsRepository } from '../store/types.ts';
import type { DriftMonitor } from './drift/monitor.ts';
import type { DriftState } from './drift/evaluate.ts';

export type PolicyMode = 'auto' | 'notify';
export type PolicyDecisionKind = 'none' | 'reembed' | 'notify' | 'new_model_needed' | 'suppressed' | 'failed';
export type ReembedReason = 'drift' | 'target-changed';

export interface PolicyDecision {
  readonly collection: string;
  readonly mode: PolicyMode;
  readonly decision: PolicyDecisionKind;
  readonly reason: string;
  /** Why a re-embedding is (or would be) wanted; null when none is. */
  readonly trigger: ReembedReason | null;
  readonly state: DriftState;
  /** Concrete name@version of the live generation. */
  readonly active: string;
  /** Concrete name@version the target resolves to (null when it cannot be resolved). */
  readonly target: string | null;
  readonly at: string;
}

export interface PolicyDeps {
  /** Starts a re-embedding of the collection to its target; `reason` is 'drift' or 'target-changed'. */
  startReembed(collection: string, reason: string): Promise<unknown>;
  /** Concrete name@version the collection's target resolves to. */
  resolveTarget(collection: string): Promise<string>;
  /** Concrete name@version of the live generation. */
  activeModel(collection: string): string;
  /** Worst drift state of the collection. */
  driftState(collection: string): DriftState;
  /** The collection's policy mode. */
  mode(collection: string): PolicyMode;
  /** No second start to the same target within this time (default 1 hour). */
  readonly cooldownMs?: number;
  readonly now?: () => number;
}

export const DEFAULT_POLICY_MODE: PolicyMode = 'notify';
export const DEFAULT_POLICY_COOLDOWN_MS = 3600_000;

/** `settings.policy`: 'auto' | 'notify', or { mode: … }; anything else is the default (notify). */
export function policyModeOf(settings: Readonly<Record<string, unknown>> | undefined): PolicyMode {
  const p = settings?.policy;
  const mode = typeof p === 'string' ? p : p && typeof p === 'object' ? (p as { mode?: unknown }).mode : undefined;
  return mode === 'auto' || mode === 'notify' ? mode : DEFAULT_POLICY_MODE;
}

function isConflict(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'conflict';
}

export class DriftPolicy {
  private readonly lastDecision = new Map<string, PolicyDecision>();
  private readonly lastAction = new Map<string, PolicyDecision>();
  private readonly started = new Map<string, { target: string; at: number }>();
  private readonly queue = new Map<string, Promise<unknown>>();
  private readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: PolicyDeps) {
    this.cooldownMs = deps.cooldownMs ?? DEFAULT_POLICY_COOLDOWN_MS;
    this.now = deps.now ?? Date.now;
  }

  /** The decision now, without acting or logging (GET /drift). */
  assess(collection: string): Promise<PolicyDecision> {
    return this.decide(collection, false);
  }

  /** Decides and acts (starts a re-embedding under `auto`); reviews of one collection run one at a time. */
  review(collection: string): Promise<PolicyDecision> {
    const previous = this.queue.get(collection) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.decide(collection, true));
    this.queue.set(collection, next);
    void next.finally(() => {
      if (this.queue.get(collection) === next) this.queue.delete(collection);
    }).catch(() => undefined);
    return next;
  }

  /** The last decision `review` took for the collection. */
  last(collection: string): PolicyDecision | undefined {
    return this.lastDecision.get(collection);
  }

  /** The last decision that started (or failed to start) a re-embedding. */
  lastActionOf(collection: string): PolicyDecision | undefined {
    return this.lastAction.get(collection);
  }

  forget(collection: string): void {
    this.lastDecision.delete(collection);
    this.lastAction.delete(collection);
    this.started.delete(collection);
  }

  private async decide(collection: string, act: boolean): Promise<PolicyDecision> {
    const mode = this.deps.mode(collection);
    const state = this.deps.driftState(collection);
    const active = this.deps.activeModel(collection);
    const at = new Date(this.now()).toISOString();
    const make = (decision: PolicyDecisionKind, reason: string, trigger: ReembedReason | null, target: string | null): PolicyDecision => ({
      collection,
      mode,
      decision,
      reason,
      trigger,
      state,
      active,
      target,
      at,
    });

    let target: string;
    try {
      target = await this.deps.resolveTarget(collection);
    } catch (err) {
      return this.record(make('failed', `target cannot be resolved: ${(err as Error).message}`, null, null), act);
    }

    if (target === active) {
      if (state === 'drifted') {
        return this.record(
          make(
            'new_model_needed',
            `drift persists and the target resolves to the active version ${active}: re-embedding would rebuild the same vectors; a new model version is needed`,
            null,
            target,
          ),
          act,
        );
      }
      const why = state === 'warning' ? 'drift warning (not persistent yet)' : 'no drift';
      return this.record(make('none', `${why}; the active version ${active} is the target`, null, target), act);
    }

    const trigger: ReembedReason = state === 'drifted' ? 'drift' : 'target-changed';
    const cause =
      trigger === 'drift'
        ? `drift persists and the target resolves to ${target} while ${active} is active`
        : `the target resolves to ${target} while ${active} is active`;
    if (mode === 'notify') {
      return this.record(make('notify', `${cause}; policy is notify: reporting only (set policy auto to re-embed automatically)`, trigger, target), act);
    }
    const previous = this.started.get(collection);
    if (previous && previous.target === target && this.now() - previous.at < this.cooldownMs) {
      const ago = Math.round((this.now() - previous.at) / 1000);
      return this.record(make('suppressed', `${cause}; a re-embedding to ${target} was started ${ago}s ago (cooldown ${Math.round(this.cooldownMs / 1000)}s)`, trigger, target), act);
    }
    if (!act) return make('reembed', `${cause}; policy auto: a re-embedding to ${target} would start`, trigger, target);
    try {
      this.started.set(collection, { target, at: this.now() });
      await this.deps.startReembed(collection, trigger);
      return this.record(make('reembed', `${cause}; policy auto: re-embedding to ${target} started`, trigger, target), act);
    } catch (err) {
      if (isConflict(err)) {
        return this.record(make('suppressed', `${cause}; a re-embedding job is already running (${(err as Error).message})`, trigger, target), act);
      }
      this.started.delete(collection);
      return this.record(make('failed', `${cause}; policy auto: could not start a re-embedding: ${(err as Error).message}`, trigger, target), act);
    }
  }

  private record(decision: PolicyDecision, act: boolean): PolicyDecision {
    if (!act) return decision;
    const previous = this.lastDecision.get(decision.collection);
    this.lastDecision.set(decision.collection, decision);
    const isAction = decision.decision === 'reembed' || decision.decision === 'failed';
    if (isAction) this.lastAction.set(decision.collection, decision);
    const changed =
      !previous ||
      previous.decision !== decision.decision ||
      previous.state !== decision.state ||
      previous.target !== decision.target ||
      previous.mode !== decision.mode;
    const fields = {
      collection: decision.collection,
      mode: decision.mode,
      decision: decision.decision,
      reason: decision.reason,
      trigger: decision.trigger,
      state: decision.state,
      active: decision.active,
      target: decision.target,
    };
    if (isAction || changed) {
      if (decision.decision === 'failed' || decision.decision === 'new_model_needed') log.warn('policy decision', fields);
      else log.info('policy decision', fields);
    } else {
      log.debug('policy decision', fields);
    }
    return decision;
  }
}

/** What the policy reads: collections (target, settings, live generation) and the model registry. */
export interface PolicySources {
  readonly store: Pick<CollectionsRepository, 'getCollection' | 'getGeneration'>;
  readonly engines: Pick<EnginePool, 'resolve'>;
}

/**
 * The policy over the collections and a drift monitor: the target resolves through the model
 * registry, the active version is the live generation's model, the mode is `settings.policy`.
 */
export function createDriftPolicy(
  ctx: PolicySources,
  monitor: DriftMonitor,
  startReembed: (collection: string, reason: string) => Promise<unknown>,
  options: { cooldownMs?: number; now?: () => number } = {},
): DriftPolicy {
  return new DriftPolicy({
    startReembed,
    resolveTarget: async (collection) => (await ctx.engines.resolve(requireCollection(ctx, collection).modelTarget)).id,
    activeModel: (collection) => liveGeneration(ctx, requireCollection(ctx, collection)).model,
    driftState: (collection) => monitor.state(collection),
    mode: (collection) => policyModeOf(requireCollection(ctx, collection).settings),
    ...options,
  });
}

/**
 * Reviews the policy when a drift window changes a collection's state, and otherwise at most
 * once per `intervalMs` per collection as windows come in (a moved target is noticed too).
 */
export function attachPolicy(monitor: DriftMonitor, policy: DriftPolicy, intervalMs = 30_000): () => void {
  const lastReview = new Map<string, number>();
  return monitor.onEvaluated((e) => {
    const now = Date.now();
    if (e.state === e.previous && now - (lastReview.get(e.collection) ?? -Infinity) < intervalMs) return;
    lastReview.set(e.collection, now);
    void policy.review(e.collection).catch((err: unknown) => log.warn('policy review failed', { collection: e.collection, err }));
  });
}
