/**
 * The model-lifecycle service: re-embedding jobs with their quality gate, drift detection and
 * the policy that acts on it, the user feedback kept for training, and training runs (train).
 * Built on the search service, whose events it subscribes to; the
 * search service never sees it. The composition root (src/runtime.ts) builds one per process,
 * so the server and CLI commands that open a data directory watch collections the same way.
 */
import type { Config } from '../config.ts';
import { log } from '../log.ts';
import type { DriftDeps } from './drift/deps.ts';
import { DriftMonitor } from './drift/monitor.ts';
import type { EvalDeps } from './eval/deps.ts';
import { evalSetGate } from './eval/gate.ts';
import { JobRunner, type JobHooks, type ReembedDeps } from './reembed/jobs.ts';
import type { TrainingDeps } from './training/deps.ts';
import type { FeedbackDeps } from './training/feedback.ts';
import { TrainJobRunner, type TrainJobStatus } from './training/jobs.ts';
import { trainingSettingsFrom } from './training/settings.ts';
import { trainCollection, type TrainOptions, type TrainResult } from './training/train.ts';
import { attachPolicy, createDriftPolicy, schedulePolicyReviews, type DriftPolicy, type LastTraining, type PolicySources } from './policy.ts';

/** What the policy reads of the latest training job: its parent is the result's, or the live model it started from. */
function lastTrainingOf(job: TrainJobStatus | undefined): LastTraining | undefined {
  if (!job) return undefined;
  const result = job.train.result;
  return {
    createdAt: Date.parse(job.createdAt),
    parent: result?.parent ?? job.model,
    documents: job.state === 'succeeded' && result && typeof result.documents === 'number' ? result.documents : null,
  };
}

/** Each part gets only what it works with, from the composition root (src/runtime.ts). */
export interface LifecycleDeps {
  /** What evaluation, tuning and the evaluation-set gate read (they search through the search service). */
  readonly eval: EvalDeps;
  /** What re-embedding jobs read and write (narrow repositories, engines, indexes, write lock). */
  readonly reembed: ReembedDeps;
  readonly drift: DriftDeps;
  readonly policy: PolicySources;
  /** What user feedback for training is stored in and checked against (src/lifecycle/training/). */
  readonly feedback: FeedbackDeps;
  /** What training a model version on a collection reads, and where it writes the version (src/lifecycle/training/train.ts). */
  readonly training: TrainingDeps;
}

export interface LifecycleOptions {
  /** Replaces the evaluation-set gate (tests); default: gate swaps on the collection's evaluation set. */
  readonly hooks?: JobHooks;
}

export class Lifecycle {
  readonly jobs: JobRunner;
  /** Training jobs (src/lifecycle/training/jobs.ts), in the same jobs table as re-embedding. */
  readonly trainJobs: TrainJobRunner;
  readonly drift: DriftMonitor;
  readonly policy: DriftPolicy;
  private readonly detachPolicy: () => void;
  private stopReviews: () => void = () => undefined;
  private readonly policySources: PolicySources;

  /** For evaluation and tuning (src/lifecycle/eval/), from the API and the CLI. */
  readonly eval: EvalDeps;

  /** For user feedback (src/lifecycle/training/feedback.ts), from the API. */
  readonly feedback: FeedbackDeps;

  /** For training model versions on a collection (src/lifecycle/training/train.ts). */
  readonly training: TrainingDeps;

  constructor(
    deps: LifecycleDeps,
    readonly config: Config,
    options: LifecycleOptions = {},
  ) {
    this.eval = deps.eval;
    this.feedback = deps.feedback;
    this.training = deps.training;
    const hooks = options.hooks ?? { gate: evalSetGate(deps.eval) };
    this.jobs = new JobRunner(deps.reembed, config, {
      ...hooks,
      // A new live generation may call for the next step at once (training on a new base).
      onSwap: (collection, generation) => {
        hooks.onSwap?.(collection, generation);
        void this.policy.review(collection).catch((err: unknown) => log.warn('policy review failed', { collection, err }));
      },
    });
    this.trainJobs = new TrainJobRunner({
      jobs: deps.reembed.jobs,
      collections: deps.reembed.collections,
      documents: deps.training.store,
      training: deps.training,
      activate: async (collection, model, signal) => (await this.jobs.startWhenIdle(collection, { model, reason: 'training' }, signal)).id,
    });
    this.policySources = deps.policy;
    this.drift = new DriftMonitor(deps.drift);
    this.policy = createDriftPolicy(deps.policy, this.drift, {
      startReembed: (collection, reason) => this.jobs.start(collection, { reason }),
      startTraining: async (collection, reason) => {
        const settings = trainingSettingsFrom(deps.policy.store.getCollection(collection)?.settings);
        return this.trainJobs.start(collection, { kind: settings.kind, ...(settings.fairness ? { fairness: settings.fairness } : {}), activate: true, reason });
      },
      lastTraining: (collection) => lastTrainingOf(this.trainJobs.latest(collection)),
    }, { cooldownMs: config.policyCooldownSeconds * 1000 });
    this.detachPolicy = attachPolicy(this.drift, this.policy);
  }

  /** Trains, validates, gates and writes a model version on the collection (the version is written even when the gate fails). */
  train(collection: string, options: TrainOptions = {}): Promise<TrainResult> {
    return trainCollection(this.training, collection, options);
  }

  /** Resumes unfinished jobs and starts background sweeps (the retention sweep, the timed policy reviews). */
  start(): void {
    this.jobs.resumeAll();
    this.trainJobs.resumeAll();
    this.stopReviews = schedulePolicyReviews(
      this.policy,
      () => this.policySources.store.listCollections().map((c) => c.name),
      this.config.policyReviewSeconds * 1000,
    );
  }

  /** Evaluates drift windows already full, stops watching, then stops jobs (they resume on the next start). */
  async close(): Promise<void> {
    this.stopReviews();
    this.detachPolicy();
    await this.drift.flush();
    this.drift.close();
    await this.trainJobs.close();
    await this.jobs.close();
  }
}
