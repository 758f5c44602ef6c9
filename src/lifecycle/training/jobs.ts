/**
 * Training jobs (issue 13): trainCollection run in the background as a job of the jobs table
 * (kind 'train'), beside re-embedding jobs (src/lifecycle/reembed/jobs.ts).
 *
 * - queued -> running -> succeeded | failed | cancelled. Progress (done/total) is the training
 *   stage's steps, as trainCollection reports them.
 * - One training job per collection at a time (ConflictError otherwise).
 * - Cancel aborts the run's AbortSignal; a cancelled run writes nothing (trainCollection).
 * - A job found queued or running at start (the previous process stopped or crashed) is trained
 *   again from scratch with the parameters it stored; a shutdown aborts the run and leaves the job
 *   for the next start.
 * - The result (new version, validation before/after, gate) is stored with the job. A failed gate
 *   still makes the job succeed (the version stays in the registry, unused; the reason says why).
 *   With `activate` and a passed gate, a re-embedding job to the new version is started and its id
 *   recorded (`activationJob`).
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, InvalidInputError, JobNotFoundError } from '../../errors.ts';
import { log } from '../../log.ts';
import { liveGeneration, requireCollection, type CollectionsHolder } from '../../search/context.ts';
import type { CollectionsRepository, DocumentsRepository, JobRow, JobsRepository } from '../../store/types.ts';
import { TrainingCancelledError } from '../../training/errors.ts';
import type { TrainingDeps } from './deps.ts';
import type { FairnessGateOptions, FairnessOutcome } from './fairness.ts';
import type { GateMode } from './gate.ts';
import { checkTrainOptions, trainCollection, type TrainingKind, type TrainResult } from './train.ts';
import type { Figures } from './validation.ts';

/** What a training job is asked (stored as the job's params). */
export interface TrainJobParams {
  readonly kind: TrainingKind;
  readonly epochs?: number;
  readonly seed?: number;
  readonly gate: GateMode;
  /** The gate's margin (default trainCollection's); not offered by the API, which uses the default. */
  readonly margin?: number;
  /** The gate's fairness check (fairness.ts), stored with its margin resolved so a restarted job checks the same. */
  readonly fairness?: { readonly groupBy: string; readonly margin: number };
  readonly activate: boolean;
}

export type TrainJobOptions = Partial<Omit<TrainJobParams, 'fairness'>> & {
  readonly fairness?: FairnessGateOptions;
  /** Why it was started (the job's reason): 'manual' (default), or the policy's trigger. */
  readonly reason?: string;
};

/** What a finished training job produced (stored as the job's result). */
export interface TrainJobResult {
  readonly model: string;
  readonly parent: string;
  /** Documents the version was trained on (the policy's growth trigger counts from here). */
  readonly documents: number;
  readonly validation: { readonly before: Figures; readonly after: Figures };
  readonly gate: { readonly passed: boolean; readonly reason: string; readonly mode: GateMode; readonly margin: number; readonly fairness?: FairnessOutcome };
  /** The re-embedding job started to the new version (activate with a passed gate); else null. */
  readonly activationJob: string | null;
}

/** A training job as stored, with its params and result read back. */
export interface TrainJobStatus extends JobRow {
  readonly kind: 'train';
  readonly train: { readonly params: TrainJobParams; readonly result: TrainJobResult | null };
}

export interface TrainJobDeps {
  readonly jobs: JobsRepository;
  readonly collections: CollectionsRepository;
  readonly documents: Pick<DocumentsRepository, 'countDocuments' | 'hasGroupableField'>;
  readonly training: TrainingDeps;
  /** Starts the re-embedding job that activates a trained version; returns its id. */
  readonly activate: (collection: string, model: string, signal: AbortSignal) => Promise<string>;
}

const ACTIVE: readonly JobRow['state'][] = ['queued', 'running'];

function fairnessOf(value: unknown): TrainJobParams['fairness'] {
  if (typeof value !== 'object' || value === null) return undefined;
  const { groupBy, margin } = value as Record<string, unknown>;
  return typeof groupBy === 'string' && typeof margin === 'number' ? { groupBy, margin } : undefined;
}

function paramsOf(job: JobRow): TrainJobParams {
  const p = job.params ?? {};
  const fairness = fairnessOf(p['fairness']);
  return {
    kind: p['kind'] === 'static' ? 'static' : 'adapter',
    ...(typeof p['epochs'] === 'number' ? { epochs: p['epochs'] } : {}),
    ...(typeof p['seed'] === 'number' ? { seed: p['seed'] } : {}),
    gate: p['gate'] === 'hybrid' ? 'hybrid' : 'dense',
    ...(typeof p['margin'] === 'number' ? { margin: p['margin'] } : {}),
    ...(fairness ? { fairness } : {}),
    activate: p['activate'] === true,
  };
}

export class TrainJobRunner {
  private readonly running = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  private readonly cancelRequested = new Set<string>();
  private stopping = false;
  private readonly lookup: CollectionsHolder;

  constructor(private readonly deps: TrainJobDeps) {
    this.lookup = { store: deps.collections };
  }

  /** Trains again, from scratch, the jobs a previous process left queued or running. */
  resumeAll(): void {
    for (const job of this.deps.jobs.listJobs().reverse()) {
      if (job.kind !== 'train' || !ACTIVE.includes(job.state)) continue;
      if (!this.deps.collections.getCollection(job.collection)) {
        this.deps.jobs.updateJob(job.id, { state: 'failed', error: 'collection no longer exists', finishedAt: new Date().toISOString() });
        continue;
      }
      log.info('restarting training job from scratch', { job: job.id, collection: job.collection });
      this.deps.jobs.updateJob(job.id, { state: 'queued', done: 0 });
      this.launch(job.id);
    }
  }

  /** Queues training on `collection`; options are checked first (InvalidInputError), nothing is written on a refusal. */
  start(collection: string, options: TrainJobOptions = {}): TrainJobStatus {
    if (this.stopping) throw new ConflictError('shutting down');
    const checked = checkTrainOptions({
      ...(options.kind !== undefined ? { kind: options.kind } : {}),
      ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.gate !== undefined ? { gate: options.gate } : {}),
      ...(options.margin !== undefined ? { margin: options.margin } : {}),
      ...(options.fairness !== undefined ? { fairness: options.fairness } : {}),
    });
    const row = requireCollection(this.lookup, collection);
    if (this.deps.documents.countDocuments(row.name) === 0) throw new InvalidInputError(`collection '${row.name}' has no documents to train on`);
    // Checked here too (training reads the documents again), so that a field no document has is a 400, not a failed job.
    if (checked.fairness && !this.deps.documents.hasGroupableField(row.name, checked.fairness.groupBy)) {
      throw new InvalidInputError(`fairness.group_by: no document of collection '${row.name}' has metadata field '${checked.fairness.groupBy}' (with a string, number or boolean value)`);
    }
    const live = liveGeneration(this.lookup, row);
    const active = this.deps.jobs.listJobs(row.name).find((j) => j.kind === 'train' && ACTIVE.includes(j.state));
    if (active) throw new ConflictError(`collection '${row.name}' already has a training job (${active.id}, ${active.state})`, { job: active.id });
    const params: TrainJobParams = {
      kind: checked.kind,
      ...(checked.epochs !== undefined ? { epochs: checked.epochs } : {}),
      ...(options.seed !== undefined ? { seed: checked.seed } : {}),
      gate: checked.gate,
      ...(options.margin !== undefined ? { margin: checked.margin } : {}),
      ...(checked.fairness ? { fairness: checked.fairness } : {}),
      activate: options.activate === true,
    };
    const job = this.deps.jobs.createJob({ id: randomUUID(), kind: 'train', collection: row.name, model: live.model, reason: options.reason ?? 'manual', total: 0, params: { ...params } });
    log.info('training job queued', { job: job.id, collection: row.name, ...params });
    this.launch(job.id);
    return this.view(job);
  }

  /** The collection's most recent training job (newest first in the store), if any. */
  latest(collection: string): TrainJobStatus | undefined {
    const job = this.deps.jobs.listJobs(collection).find((j) => j.kind === 'train');
    return job ? this.view(job) : undefined;
  }

  /** Whether `id` is a training job. */
  has(id: string): boolean {
    return this.deps.jobs.getJob(id)?.kind === 'train';
  }

  get(id: string): TrainJobStatus {
    const job = this.deps.jobs.getJob(id);
    if (!job || job.kind !== 'train') throw new JobNotFoundError(`job '${id}' does not exist`);
    return this.view(job);
  }

  list(collection?: string): TrainJobStatus[] {
    return this.deps.jobs.listJobs(collection).filter((j) => j.kind === 'train').map((j) => this.view(j));
  }

  /** Resolves when the job is no longer queued or running in this process. */
  async settled(id: string): Promise<TrainJobStatus> {
    await this.running.get(id)?.promise;
    return this.get(id);
  }

  async cancel(id: string): Promise<TrainJobStatus> {
    const job = this.get(id);
    if (!ACTIVE.includes(job.state)) throw new ConflictError(`job '${id}' is already ${job.state}`);
    this.cancelRequested.add(id);
    const run = this.running.get(id);
    if (run) {
      run.abort.abort();
      await run.promise;
    } else {
      this.finish(id, 'cancelled', null);
    }
    return this.get(id);
  }

  /** Aborts running training; the jobs stay queued/running in the store and train again on the next start. */
  async close(): Promise<void> {
    this.stopping = true;
    for (const run of this.running.values()) run.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.promise));
  }

  private view(job: JobRow): TrainJobStatus {
    const r = (job.result as TrainJobResult | undefined) ?? null;
    return { ...job, kind: 'train', train: { params: paramsOf(job), result: r } };
  }

  private launch(id: string): void {
    if (this.running.has(id)) return;
    const abort = new AbortController();
    const promise = this.execute(id, abort.signal).finally(() => {
      this.running.delete(id);
      this.cancelRequested.delete(id);
    });
    this.running.set(id, { promise, abort });
  }

  private async execute(id: string, signal: AbortSignal): Promise<void> {
    const job = this.deps.jobs.getJob(id)!;
    const params = paramsOf(job);
    // Let start() return (and its caller answer) before training takes the thread.
    await new Promise((r) => setImmediate(r));
    try {
      if (this.cancelRequested.has(id) || signal.aborted) throw new TrainingCancelledError();
      this.deps.jobs.updateJob(id, { state: 'running', startedAt: new Date().toISOString(), done: 0 });
      let last = { done: -1, total: -1 };
      const result: TrainResult = await trainCollection(this.deps.training, job.collection, {
        kind: params.kind,
        ...(params.epochs !== undefined ? { epochs: params.epochs } : {}),
        ...(params.seed !== undefined ? { seed: params.seed } : {}),
        gate: params.gate,
        ...(params.margin !== undefined ? { margin: params.margin } : {}),
        ...(params.fairness ? { fairness: params.fairness } : {}),
        signal,
        onProgress: (p) => {
          // Training steps only; the stage's opening report (total 0, before the step count is known) is not progress.
          if (p.stage !== 'training' || p.total === 0) return;
          if (p.done === last.done && p.total === last.total) return;
          last = { done: p.done, total: p.total };
          this.deps.jobs.updateJob(id, { done: p.done, total: p.total });
        },
      });
      if (this.cancelRequested.has(id)) throw new TrainingCancelledError();
      let activationJob: string | null = null;
      if (params.activate && result.gate.passed) {
        activationJob = await this.deps.activate(job.collection, result.model, signal);
      }
      const stored: TrainJobResult = {
        model: result.model,
        parent: result.parent,
        documents: result.data.documents,
        validation: result.validation,
        gate: {
          passed: result.gate.passed,
          reason: result.gate.reason,
          mode: result.gate.mode,
          margin: result.gate.margin,
          ...(result.gate.fairness ? { fairness: result.gate.fairness } : {}),
        },
        activationJob,
      };
      const total = this.deps.jobs.getJob(id)!.total;
      this.deps.jobs.updateJob(id, {
        state: 'succeeded',
        model: result.model,
        result: { ...stored },
        done: total,
        finishedAt: new Date().toISOString(),
      });
      log.info('training job succeeded', { job: id, collection: job.collection, model: result.model, gate: result.gate.passed, reason: result.gate.reason, activationJob });
    } catch (err) {
      if (this.cancelRequested.has(id)) {
        this.finish(id, 'cancelled', null);
      } else if (this.stopping) {
        log.info('training job stopped by shutdown; it trains again on the next start', { job: id });
      } else if (err instanceof TrainingCancelledError) {
        this.finish(id, 'cancelled', null);
      } else {
        log.error('training job failed', { job: id, collection: job.collection, err });
        this.finish(id, 'failed', (err as Error).message);
      }
    }
  }

  private finish(id: string, state: 'cancelled' | 'failed', error: string | null): void {
    this.deps.jobs.updateJob(id, { state, error, finishedAt: new Date().toISOString() });
    log.info(`training job ${state}`, { job: id, error });
  }
}
