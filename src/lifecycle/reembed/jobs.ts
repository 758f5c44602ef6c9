/**
 * Re-embedding jobs: build a new generation of a collection with another model version beside
 * the live one, verify it, and swap it in atomically while searches keep working.
 *
 * - Work is "documents without a vector in the new generation", taken in id order: resuming
 *   after a crash needs no cursor, and writes arriving during the job (which go to every
 *   generation) are never redone or missed.
 * - A batch's vectors are only stored for documents whose content hash is unchanged since the
 *   batch read them, under the collection's write lock, so a concurrent upsert always wins.
 * - The swap happens only when every document has a vector in the new generation, checked in
 *   the same write-lock section as the swap (a document still without one is filled first).
 * - The job yields to live traffic: it computes at most `reembedDuty` of the time.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { EnginePool } from '../../embedding/pool.ts';
import { ConflictError, InvalidInputError, JobNotFoundError } from '../../errors.ts';
import { log } from '../../log.ts';
import { liveGeneration, requireCollection, type CollectionsHolder } from '../../search/context.ts';
import { embeddingText } from '../../search/documents.ts';
import type { GenerationIndexes } from '../../search/generations.ts';
import type { KeyedMutex } from '../../search/mutex.ts';
import type { CollectionsRepository, DocumentsRepository, GenerationRow, JobRow, JobsRepository } from '../../store/types.ts';
import { faultPoint } from '../../util/fault-points.ts';

/**
 * What re-embedding needs, handed over by the composition root (src/runtime.ts): the three
 * repositories it reads and writes, the engines, the generations' indexes, and the collection
 * write lock it shares with the search service's write path.
 */
export interface ReembedDeps {
  readonly collections: CollectionsRepository;
  readonly documents: Pick<DocumentsRepository, 'countDocuments' | 'countVectors' | 'idsMissingVectors' | 'getDocuments' | 'contentHashes' | 'putGenerationVectors'>;
  readonly jobs: JobsRepository;
  readonly engines: Pick<EnginePool, 'get' | 'resolve' | 'loaded'>;
  readonly indexes: Pick<GenerationIndexes, 'get' | 'close'>;
  readonly writes: KeyedMutex;
}

export interface GateResult {
  readonly ok: boolean;
  readonly reason: string;
}

export interface JobHooks {
  /** Quality gate before a swap (collections with an evaluation set); absent: always passes. */
  gate?(collection: string, live: GenerationRow, candidate: GenerationRow): Promise<GateResult | undefined>;
  /** Called after a generation becomes live (swap or rollback). */
  onSwap?(collection: string, generation: GenerationRow): void;
}

/** A job as stored, with the progress rate this process measured (the API's view: src/api/views/job.ts). */
export interface JobStatus extends JobRow {
  /** Documents per second since this process started running it; null when not running (or too early to say). */
  readonly docsPerSecond: number | null;
  readonly etaSeconds: number | null;
}

const ACTIVE: readonly JobRow['state'][] = ['queued', 'running'];

class Cancelled extends Error {}

interface Progress {
  startedAt: number;
  startDone: number;
}

export class JobRunner {
  private readonly running = new Map<string, Promise<void>>();
  private readonly cancelRequested = new Set<string>();
  private readonly progress = new Map<string, Progress>();
  private stopping = false;
  private retentionTimer: NodeJS.Timeout | undefined;

  private readonly lookup: CollectionsHolder;

  constructor(
    private readonly deps: ReembedDeps,
    private readonly config: Config,
    private readonly hooks: JobHooks = {},
  ) {
    this.lookup = { store: deps.collections };
  }

  /** Resumes jobs a previous process left unfinished and starts the retention sweep. */
  resumeAll(): void {
    for (const job of this.deps.jobs.listJobs().reverse()) {
      if (!ACTIVE.includes(job.state)) continue;
      if (!this.deps.collections.getCollection(job.collection)) {
        this.deps.jobs.updateJob(job.id, { state: 'failed', error: 'collection no longer exists', finishedAt: new Date().toISOString() });
        continue;
      }
      log.info('resuming re-embedding job', { job: job.id, collection: job.collection, done: job.done, total: job.total });
      this.launch(job.id);
    }
    this.sweepRetention();
    this.retentionTimer = setInterval(() => this.sweepRetention(), Math.min(60_000, Math.max(1000, this.config.retentionSeconds * 250)));
    this.retentionTimer.unref();
  }

  /** Queues a re-embedding of `collection` to `modelRef` (default: the collection's target). */
  async start(collection: string, options: { model?: string; reason?: string } = {}): Promise<JobStatus> {
    const row = requireCollection(this.lookup, collection);
    this.refuseIfActive(collection);
    const version = await this.deps.engines.resolve(options.model ?? row.modelTarget);
    // Another start may have stored its job while this one awaited the model: check again. From
    // here to createJob nothing awaits (the store is synchronous), so no start can slip between.
    this.refuseIfActive(collection);
    const job = this.deps.jobs.createJob({
      id: randomUUID(),
      collection,
      model: version.id,
      reason: options.reason ?? 'manual',
      total: this.deps.documents.countDocuments(collection),
    });
    log.info('re-embedding job queued', { job: job.id, collection, model: version.id, reason: job.reason });
    this.launch(job.id);
    return this.view(job);
  }

  private refuseRollbackDuringJob(collection: string): void {
    const active = this.deps.jobs.listJobs(collection).find((j) => ACTIVE.includes(j.state));
    if (active) throw new ConflictError(`collection '${collection}' has a re-embedding job in progress (${active.id}); cancel it first`);
  }

  private refuseIfActive(collection: string): void {
    const active = this.deps.jobs.listJobs(collection).find((j) => ACTIVE.includes(j.state));
    if (active) throw new ConflictError(`collection '${collection}' already has a re-embedding job (${active.id}, ${active.state})`, { job: active.id });
  }

  get(id: string): JobStatus {
    const job = this.deps.jobs.getJob(id);
    if (!job) throw new JobNotFoundError(`job '${id}' does not exist`);
    return this.view(job);
  }

  list(collection?: string): JobStatus[] {
    return this.deps.jobs.listJobs(collection).map((j) => this.view(j));
  }

  /** Cancels a queued or running job; the live generation is untouched and the partial one removed. */
  async cancel(id: string): Promise<JobStatus> {
    const job = this.deps.jobs.getJob(id);
    if (!job) throw new JobNotFoundError(`job '${id}' does not exist`);
    if (!ACTIVE.includes(job.state)) throw new ConflictError(`job '${id}' is already ${job.state}`);
    this.cancelRequested.add(id);
    const run = this.running.get(id);
    if (run) await run;
    else await this.finish(id, 'cancelled', null);
    return this.get(id);
  }

  /** Makes the most recently replaced generation live again. */
  async rollback(collection: string): Promise<GenerationRow> {
    requireCollection(this.lookup, collection);
    this.refuseRollbackDuringJob(collection);
    const retired = this.deps.collections.listGenerations(collection)
      .filter((g) => g.state === 'retired')
      .sort((a, b) => (b.retiredAt ?? '').localeCompare(a.retiredAt ?? '') || b.id - a.id)[0];
    if (!retired) throw new ConflictError(`collection '${collection}' has no previous generation to roll back to`);
    await this.deps.writes.run(collection, async () => {
      // Checked again once the lock is held: a job may have started, or the generation been
      // dropped, while this waited. From here to the promotion nothing awaits, so no start can
      // slip between (a start checks and creates its job without awaiting, too).
      this.refuseRollbackDuringJob(collection);
      if (this.deps.collections.getGeneration(retired.id)?.state !== 'retired') {
        throw new ConflictError(`collection '${collection}': generation ${retired.id} is no longer available to roll back to`);
      }
      this.deps.collections.promoteGeneration(collection, retired.id);
    });
    const live = this.deps.collections.getGeneration(retired.id)!;
    log.info('rolled back', { collection, generation: live.id, model: live.model });
    this.hooks.onSwap?.(collection, live);
    return live;
  }

  /** Drops retired generations older than the retention period (files and rows). */
  sweepRetention(): void {
    const cutoff = Date.now() - this.config.retentionSeconds * 1000;
    for (const collection of this.deps.collections.listCollections()) {
      for (const g of this.deps.collections.listGenerations(collection.name)) {
        if (g.state !== 'retired' || !g.retiredAt || Date.parse(g.retiredAt) > cutoff) continue;
        void this.dropGeneration(collection.name, g).then(
          () => log.info('retention: dropped replaced generation', { collection: collection.name, generation: g.id, model: g.model }),
          (err: unknown) => log.warn('retention: could not drop generation', { generation: g.id, err }),
        );
      }
    }
  }

  /** Stops working; unfinished jobs stay queued/running in the store and resume on the next start. */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await Promise.allSettled(this.running.values());
  }

  private view(job: JobRow): JobStatus {
    const p = this.progress.get(job.id);
    let rate: number | null = null;
    if (p && job.state === 'running') {
      const seconds = (performance.now() - p.startedAt) / 1000;
      rate = seconds > 0.5 ? (job.done - p.startDone) / seconds : null;
    }
    return { ...job, docsPerSecond: rate, etaSeconds: rate ? Math.max(0, job.total - job.done) / rate : null };
  }

  private launch(id: string): void {
    if (this.running.has(id)) return;
    const run = this.execute(id).finally(() => {
      this.running.delete(id);
      this.progress.delete(id);
      this.cancelRequested.delete(id);
    });
    this.running.set(id, run);
  }

  private async execute(id: string): Promise<void> {
    let job = this.deps.jobs.getJob(id)!;
    try {
      const collection = requireCollection(this.lookup, job.collection);
      const live = liveGeneration(this.lookup, collection);
      const engine = await this.deps.engines.get(job.model);
      if (job.generation === null) {
        const generation = this.deps.collections.createGeneration(collection.name, { model: job.model, dimensions: engine.dimensions, backend: live.backend });
        job = this.deps.jobs.updateJob(id, { generation: generation.id, previousGeneration: live.id });
      }
      job = this.deps.jobs.updateJob(id, { state: 'running', startedAt: job.startedAt ?? new Date().toISOString() });
      const generation = this.deps.collections.getGeneration(job.generation!)!;
      const index = await this.deps.indexes.get(collection, generation);
      this.progress.set(id, { startedAt: performance.now(), startDone: this.deps.documents.countVectors(generation.id) });

      for (;;) {
        this.checkpoint(id);
        const ids = this.deps.documents.idsMissingVectors(collection.name, generation.id, this.config.reembedBatch);
        if (ids.length === 0) {
          // Done when verified and swapped in. A document found without a vector at verification
          // (a write that missed this generation) sends the job back to filling instead.
          if (await this.verifyAndSwap(id, collection.name, generation)) break;
          log.warn('re-embedding job found documents without a vector at verification; filling them', { job: id, generation: generation.id });
          continue;
        }
        const started = performance.now();
        const docs = [...this.deps.documents.getDocuments(collection.name, ids).values()];
        const out = await engine.embed(docs.map(embeddingText), 'document');
        await this.deps.writes.run(collection.name, async () => {
          // Under the lock no upsert can interleave: keep only documents unchanged since read.
          const current = this.deps.documents.contentHashes(collection.name, ids);
          const items = docs
            .map((d, i) => ({ id: d.id, vector: out.vectors[i]!, contentHash: d.contentHash, metadata: d.metadata }))
            .filter((item) => current.get(item.id) === item.contentHash);
          if (index.remote) await index.upsert(items);
          const { written, seq } = this.deps.documents.putGenerationVectors(collection.name, generation.id, items);
          // Crash tests: the batch is durable in SQLite, the index and the job row do not know yet.
          faultPoint('reembed.vectors-committed');
          if (!index.remote) {
            const keep = new Set(written);
            await index.upsert(items.filter((i) => keep.has(i.id)));
            index.markApplied?.(seq);
          }
        });
        job = this.deps.jobs.updateJob(id, {
          done: this.deps.documents.countVectors(generation.id),
          total: this.deps.documents.countDocuments(collection.name),
          cursor: ids.at(-1)!,
        });
        await this.throttle(performance.now() - started);
      }
    } catch (err) {
      if (err instanceof Cancelled) {
        await this.finish(id, 'cancelled', null);
      } else if (this.stopping) {
        log.info('re-embedding job paused by shutdown; it resumes on the next start', { job: id });
      } else {
        log.error('re-embedding job failed', { job: id, collection: job.collection, err });
        await this.finish(id, 'failed', (err as Error).message);
      }
    }
  }

  /** Throws Cancelled on cancel; on shutdown, a sentinel error leaves the job resumable. */
  private checkpoint(id: string): void {
    if (this.cancelRequested.has(id)) throw new Cancelled();
    if (this.stopping) throw new Error('shutting down');
  }

  /** Sleeps so the job computes at most `reembedDuty` of the time, and while live queries queue. */
  private async throttle(busyMs: number): Promise<void> {
    const duty = this.config.reembedDuty;
    const pause = duty >= 1 ? 0 : (busyMs * (1 - duty)) / duty;
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    for (let i = 0; i < 50 && this.deps.engines.loaded().some((e) => e.queueDepth > 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Verifies the generation, runs the quality gate and swaps it in; false, without swapping, when
   * a document has no vector in it yet (the caller fills it and comes back). The last check for
   * missing vectors and the swap share one write-lock section, so no commit can land between them.
   */
  private async verifyAndSwap(id: string, collection: string, generation: GenerationRow): Promise<boolean> {
    const complete = await this.deps.writes.run(collection, async () => {
      if (this.deps.documents.idsMissingVectors(collection, generation.id, 1).length > 0) return false;
      const documents = this.deps.documents.countDocuments(collection);
      const vectors = this.deps.documents.countVectors(generation.id);
      const row = requireCollection(this.lookup, collection);
      const indexed = await (await this.deps.indexes.get(row, generation)).count();
      if (vectors !== documents || indexed !== documents) {
        throw new InvalidInputError(`verification failed: ${documents} documents, ${vectors} vectors, ${indexed} indexed in generation ${generation.id}`);
      }
      return true;
    });
    if (!complete) return false;
    const row = requireCollection(this.lookup, collection);
    const live = liveGeneration(this.lookup, row);
    const gate = await this.hooks.gate?.(collection, live, generation);
    if (gate && !gate.ok) throw new InvalidInputError(`quality gate failed: ${gate.reason}`);
    this.checkpoint(id);
    const swapped = await this.deps.writes.run(collection, async () => {
      // The gate ran outside the lock: a write may have committed since the check above.
      if (this.deps.documents.idsMissingVectors(collection, generation.id, 1).length > 0) return false;
      this.deps.collections.promoteGeneration(collection, generation.id);
      return true;
    });
    if (!swapped) return false;
    await (await this.deps.indexes.get(row, generation)).flush();
    const promoted = this.deps.collections.getGeneration(generation.id)!;
    this.deps.jobs.updateJob(id, { state: 'succeeded', finishedAt: new Date().toISOString(), done: this.deps.documents.countVectors(generation.id) });
    log.info('re-embedding job succeeded: new generation is live', {
      job: id,
      collection,
      generation: generation.id,
      model: generation.model,
      previous: live.id,
      gate: gate?.reason,
    });
    this.hooks.onSwap?.(collection, promoted);
    if (this.config.retentionSeconds === 0) this.sweepRetention();
    return true;
  }

  private async finish(id: string, state: 'cancelled' | 'failed', error: string | null): Promise<void> {
    const job = this.deps.jobs.getJob(id)!;
    if (job.generation !== null) {
      const generation = this.deps.collections.getGeneration(job.generation);
      if (generation && generation.state === 'building') await this.dropGeneration(job.collection, generation);
    }
    this.deps.jobs.updateJob(id, { state, error, finishedAt: new Date().toISOString() });
    log.info(`re-embedding job ${state}`, { job: id, collection: job.collection, error });
  }

  private async dropGeneration(collection: string, generation: GenerationRow): Promise<void> {
    await this.deps.writes.run(collection, async () => {
      const row = this.deps.collections.getCollection(collection);
      if (row) await this.deps.indexes.get(row, generation).catch(() => undefined);
      await this.deps.indexes.close(generation.id, true);
      this.deps.collections.dropGeneration(generation.id);
    });
  }
}
