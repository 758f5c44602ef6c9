/**
 * What drift and a moved target lead to, per collection (`settings.policy`: `notify` by default,
 * or `auto`):
 *
 * - target resolves to a different version than the active one: `auto` starts a re-embedding
 *   to the target (reason `target-changed`, or `drift` when the collection has also drifted);
 *   `notify` only reports it.
 * - the collection follows its target: the active version is the target, or a model trained
 *   from it (its lineage leads to the target; a trained model is never flipped back). Then:
 *   - with `auto` and `settings.training.auto`, training starts (a job with activate, of
 *     `training.kind`) on persistent drift (trigger `drift`), once the collection has grown by
 *     `training.retrain_growth` since the last training (`growth`), or when the active version is
 *     the target itself while the last training was on another base (`new-base`: the target
 *     moved, the policy re-embedded to it, now it trains again on the new base). Not below
 *     `training.min_documents`, and not again within `cooldownMs` of the last training job on
 *     the same base (read from the jobs table, so a restart does not repeat it);
 *   - otherwise, drifted: re-embedding would rebuild the same vectors, so the decision is
 *     `new_model_needed` (in both modes): a new model version is needed.
 * - otherwise nothing (`none`), with the drift state as the reason.
 *
 * A re-embedding is not started again for the same target within `cooldownMs` (a failed or
 * cancelled job is not retried in a loop); a job already running (ConflictError from the starter)
 * counts as started. Decisions are logged with their reason whenever they change, and every action.
 */
import { log } from '../log.ts';
import { liveGeneration, requireCollection } from '../search/context.ts';
import type { EnginePool } from '../embedding/pool.ts';
import type { CollectionsRepository, DocumentsRepository } from '../store/types.ts';
import type { DriftMonitor } from './drift/monitor.ts';
import type { DriftState } from './drift/evaluate.ts';
import { trainingSettingsFrom, type TrainingSettings } from './training/settings.ts';

export type PolicyMode = 'auto' | 'notify';
export type PolicyDecisionKind = 'none' | 'reembed' | 'train' | 'notify' | 'new_model_needed' | 'suppressed' | 'failed';
export type ReembedReason = 'drift' | 'target-changed';
export type TrainReason = 'drift' | 'growth' | 'new-base';
export type PolicyTrigger = ReembedReason | TrainReason;

export interface PolicyDecision {
  readonly collection: string;
  readonly mode: PolicyMode;
  readonly decision: PolicyDecisionKind;
  readonly reason: string;
  /** Why a re-embedding or a training is (or would be) wanted; null when none is. */
  readonly trigger: PolicyTrigger | null;
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
  /** What automatic training reads and starts; absent: the policy never trains. */
  readonly training?: PolicyTrainingDeps;
  /** No second start to the same target (or training on the same base) within this time (default 1 hour). */
  readonly cooldownMs?: number;
  readonly now?: () => number;
}

/** The collection's latest training job, as the policy reads it. */
export interface LastTraining {
  /** When the job was created (ms since the epoch). */
  readonly createdAt: number;
  /** The version it trained from (name@version). */
  readonly parent: string;
  /** Documents it trained on; null while it has not finished (or when it failed). */
  readonly documents: number | null;
}

export interface PolicyTrainingDeps {
  settings(collection: string): TrainingSettings;
  documentCount(collection: string): number;
  /** The versions `model` was trained from, nearest first ([] for a model that was not trained). */
  ancestors(model: string): Promise<readonly string[]>;
  lastTraining(collection: string): LastTraining | undefined;
  /** Starts a training job with activate; `reason` is the trigger. */
  startTraining(collection: string, reason: TrainReason): Promise<unknown>;
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

  /** The last decision that started (or failed to start) a re-embedding or a training. */
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
    const make = (decision: PolicyDecisionKind, reason: string, trigger: PolicyTrigger | null, target: string | null): PolicyDecision => ({
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

    const lineage = this.deps.training ? await this.deps.training.ancestors(active) : [];
    if (target === active || lineage.includes(target)) {
      const follows = target === active ? `the active version ${active} is the target` : `the active version ${active} was trained from the target ${target}`;
      const training = await this.trainingDecision(collection, mode, state, target, active, follows, act, make);
      if (training) return this.record(training, act);
      if (state === 'drifted') {
        return this.record(
          make(
            'new_model_needed',
            `drift persists and ${follows}: re-embedding would rebuild the same vectors; a new model version is needed (policy auto with training.auto trains one)`,
            null,
            target,
          ),
          act,
        );
      }
      const why = state === 'warning' ? 'drift warning (not persistent yet)' : 'no drift';
      return this.record(make('none', `${why}; ${follows}`, null, target), act);
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

  /**
   * For a collection that follows its target: the training decision under `auto` and
   * `training.auto`, or undefined when training is off or nothing calls for it.
   */
  private async trainingDecision(
    collection: string,
    mode: PolicyMode,
    state: DriftState,
    target: string,
    active: string,
    follows: string,
    act: boolean,
    make: (decision: PolicyDecisionKind, reason: string, trigger: PolicyTrigger | null, target: string | null) => PolicyDecision,
  ): Promise<PolicyDecision | undefined> {
    const t = this.deps.training;
    if (!t || mode !== 'auto') return undefined;
    const settings = t.settings(collection);
    if (!settings.auto) return undefined;
    const count = t.documentCount(collection);
    const last = t.lastTraining(collection);
    const lastBase = last ? ((await t.ancestors(last.parent)).at(-1) ?? last.parent) : undefined;
    let trigger: TrainReason | undefined;
    let cause = '';
    if (state === 'drifted') {
      trigger = 'drift';
      cause = `drift persists and ${follows}`;
    } else if (last && last.documents !== null && settings.retrainGrowth > 0 && count >= last.documents * (1 + settings.retrainGrowth)) {
      trigger = 'growth';
      cause = `the collection holds ${count} documents, ${settings.retrainGrowth * 100}% or more than the ${last.documents} of the last training`;
    } else if (last && lastBase !== target && active === target) {
      trigger = 'new-base';
      cause = `the last training was on ${lastBase ?? last.parent} and the target moved to ${target}`;
    }
    if (!trigger) return undefined;
    if (count < settings.minDocuments) {
      return make(state === 'drifted' ? 'new_model_needed' : 'none', `${cause}; training.auto: ${count} documents, fewer than training.min_documents (${settings.minDocuments}), so no training`, trigger, target);
    }
    if (last && lastBase === target && this.now() - last.createdAt < this.cooldownMs) {
      const ago = Math.round((this.now() - last.createdAt) / 1000);
      return make('suppressed', `${cause}; a training job on ${target} was started ${ago}s ago (cooldown ${Math.round(this.cooldownMs / 1000)}s)`, trigger, target);
    }
    const what = `a ${settings.kind} training job on ${active} with activate`;
    if (!act) return make('train', `${cause}; policy auto with training.auto: ${what} would start`, trigger, target);
    try {
      await t.startTraining(collection, trigger);
      return make('train', `${cause}; policy auto with training.auto: ${what} started`, trigger, target);
    } catch (err) {
      if (isConflict(err)) return make('suppressed', `${cause}; a training job is already running (${(err as Error).message})`, trigger, target);
      return make('failed', `${cause}; policy auto with training.auto: could not start training: ${(err as Error).message}`, trigger, target);
    }
  }

  private record(decision: PolicyDecision, act: boolean): PolicyDecision {
    if (!act) return decision;
    const previous = this.lastDecision.get(decision.collection);
    this.lastDecision.set(decision.collection, decision);
    const isAction = decision.decision === 'reembed' || decision.decision === 'train' || decision.decision === 'failed';
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

/** What the policy reads: collections (target, settings, live generation, size) and the model registry. */
export interface PolicySources {
  readonly store: Pick<CollectionsRepository, 'getCollection' | 'getGeneration' | 'listCollections'> & Pick<DocumentsRepository, 'countDocuments'>;
  readonly engines: Pick<EnginePool, 'resolve'>;
}

/** What the policy starts: re-embedding and training jobs, and the training jobs it reads back. */
export interface PolicyActions {
  startReembed(collection: string, reason: ReembedReason): Promise<unknown>;
  startTraining(collection: string, reason: TrainReason): Promise<unknown>;
  lastTraining(collection: string): LastTraining | undefined;
}

/** Lineage is at most this deep (a chain of trained versions); guards a cyclic manifest. */
const MAX_LINEAGE_DEPTH = 32;

/** The versions `model` was trained from, nearest first, read from the manifests' lineage. */
export async function ancestorsOf(engines: Pick<EnginePool, 'resolve'>, model: string): Promise<string[]> {
  const out: string[] = [];
  let current = model;
  while (out.length < MAX_LINEAGE_DEPTH) {
    let parent: string | undefined;
    try {
      parent = (await engines.resolve(current)).manifest.lineage?.parent;
    } catch {
      break; // a removed version: its lineage ends here
    }
    if (!parent || out.includes(parent) || parent === model) break;
    out.push(parent);
    current = parent;
  }
  return out;
}

/**
 * The policy over the collections and a drift monitor: the target resolves through the model
 * registry, the active version is the live generation's model, the mode is `settings.policy`,
 * training follows `settings.training`.
 */
export function createDriftPolicy(
  ctx: PolicySources,
  monitor: DriftMonitor,
  actions: PolicyActions,
  options: { cooldownMs?: number; now?: () => number } = {},
): DriftPolicy {
  return new DriftPolicy({
    startReembed: (collection, reason) => actions.startReembed(collection, reason as ReembedReason),
    resolveTarget: async (collection) => (await ctx.engines.resolve(requireCollection(ctx, collection).modelTarget)).id,
    activeModel: (collection) => liveGeneration(ctx, requireCollection(ctx, collection)).model,
    driftState: (collection) => monitor.state(collection),
    mode: (collection) => policyModeOf(requireCollection(ctx, collection).settings),
    training: {
      settings: (collection) => trainingSettingsFrom(requireCollection(ctx, collection).settings),
      documentCount: (collection) => ctx.store.countDocuments(collection),
      ancestors: (model) => ancestorsOf(ctx.engines, model),
      lastTraining: (collection) => actions.lastTraining(collection),
      startTraining: (collection, reason) => actions.startTraining(collection, reason),
    },
    ...options,
  });
}

/**
 * Reviews the policy when a drift window changes a collection's state; everything else (a moved
 * target, growth) is reviewed on schedulePolicyReviews' timer.
 */
export function attachPolicy(monitor: DriftMonitor, policy: DriftPolicy): () => void {
  return monitor.onEvaluated((e) => {
    if (e.state === e.previous) return;
    void policy.review(e.collection).catch((err: unknown) => log.warn('policy review failed', { collection: e.collection, err }));
  });
}

/**
 * Reviews every collection's policy each `intervalMs`, whether or not drift windows close: a
 * moved target or a grown collection, idle or not, is acted on within one interval. Reviews
 * run one collection after another; a decision is logged only when it changes (DriftPolicy.record).
 */
export function schedulePolicyReviews(policy: DriftPolicy, collections: () => readonly string[], intervalMs: number): () => void {
  if (!(intervalMs > 0)) return () => undefined;
  let running = false;
  const timer = setInterval(() => {
    if (running) return; // a slow round (many collections) is not stacked on
    running = true;
    void (async () => {
      for (const collection of collections()) {
        await policy.review(collection).catch((err: unknown) => log.warn('policy review failed', { collection, err }));
      }
    })().finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
