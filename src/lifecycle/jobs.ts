/**
 * Re-embedding jobs: build a new generation of a collection with another model version beside
 * the live one, verify it, and swap it in atomically while searches keep working.
 *
 * - Work is "documents without a vector in the new generation", taken in id order: resuming
 *   after a crash needs no cursor, and writes arriving during the job (which go to every
 *   generation) are never redone or missed.
 * - A batch's vectors are only stored for documents whose content hash is unchanged since the
 *   batch read them, under the collection's write lock, so a concurrent upsert always wins.
 * - The job yields to live traffic: it computes at most `reembedDuty` of the time.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import { ConflictError, InvalidInputError, JobNotFoundError } from '../errors.ts';
import { log } from '../log.ts';
import { requireCollection, liveGeneration, type SearchContext } from '../search/context.ts';
import { embeddingText } from '../search/documents.ts';
import type { SearchService } from '../search/service.ts';
import type { GenerationRow, JobRow } from '../store/types.ts';

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

export interface JobView {
  readonly id: string;
  readonly kind: 'reembed';
  readonly collection: string;
  readonly state: JobRow['state'];
  readonly model: string;
  readonly generation: number | null;
  readonly previous_generation: number | null;
  readonly done: number;
  readonly total: number;
  readonly docs_per_s: number | null;
  readonly eta_seconds: number | null;
  readonly reason: string;
  readonly error: string | null;
  readonly created_at: string;
  readonly started_at: string | null;
  readonly finished_at: string | null;
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

  constructor(
    private readonly service: SearchService,
    private readonly config: Config,
    private readonly hooks: JobHooks = {},
  ) {}

  private get ctx(): SearchContext {
    return this.service.context;
  }

  /** Resumes jobs a previous process left unfinished and starts the retention sweep. */
  resumeAll(): void {
    for (const job of this.ctx.store.listJobs().reverse()) {
      if (!ACTIVE.includes(job.state)) continue;
      if (!this.ctx.store.getCollection(job.collection)) {
        this.ctx.store.updateJob(job.id, { state: 'failed', error: 'collection no longer exists', finishedAt: new Date().toISOString() });
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
  async start(collection: string, options: { model?: string; reason?: string } = {}): Promise<JobView> {
    const row = requireCollection(this.ctx, collection);
    const active = this.ctx.store.listJobs(collection).find((j) => ACTIVE.includes(j.state));
    if (active) throw new ConflictError(`collection '${collection}' already has a re-embedding job (${active.id}, ${active.state})`, { job: active.id });
    const version = await this.ctx.engines.resolve(options.model ?? row.modelTarget);
    const job = this.ctx.store.createJob({
      id: randomUUID(),
      collection,
      model: version.id,
      reason: options.reason ?? 'manual',
      total: this.ctx.store.countDocuments(collection),
    });
    log.info('re-embedding job queued', { job: job.id, collection, model: version.id, reason: job.reason });
    this.launch(job.id);
    return this.view(job);
  }

  get(id: string): JobView {
    const job = this.ctx.store.getJob(id);
    if (!job) throw new JobNotFoundError(`job '${id}' does not exist`);
    return this.view(job);
  }

  list(collection?: string): JobView[] {
    return this.ctx.store.listJobs(collection).map((j) => this.view(j));
  }

  /** Cancels a queued or running job; the live generation is untouched and the partial one removed. */
  async cancel(id: string): Promise<JobView> {
    const job = this.ctx.store.getJob(id);
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
    requireCollection(this.ctx, collection);
    const active = this.ctx.store.listJobs(collection).find((j) => ACTIVE.includes(j.state));
    if (active) throw new ConflictError(`collection '${collection}' has a re-embedding job in progress (${active.id}); cancel it first`);
    const retired = this.ctx.store
      .listGenerations(collection)
      .filter((g) => g.state === 'retired')
      .sort((a, b) => (b.retiredAt ?? '').localeCompare(a.retiredAt ?? '') || b.id - a.id)[0];
    if (!retired) throw new ConflictError(`collection '${collection}' has no previous generation to roll back to`);
    await this.ctx.writes.run(collection, async () => {
      this.ctx.store.promoteGeneration(collection, retired.id);
    });
    const live = this.ctx.store.getGeneration(retired.id)!;
    log.info('rolled back', { collection, generation: live.id, model: live.model });
    this.hooks.onSwap?.(collection, live);
    return live;
  }

  /** Drops retired generations older than the retention period (files and rows). */
  sweepRetention(): void {
    const cutoff = Date.now() - this.config.retentionSeconds * 1000;
    for (const collection of this.ctx.store.listCollections()) {
      for (const g of this.ctx.store.listGenerations(collection.name)) {
        if (g.state !== 'retired' || !g.retiredAt || Date.parse(g.retiredAt) > cutoff) continue;
        void this.dropGeneration(collection.name, g).then(
          () => log.info('retention: dropped replaced generation', { collection: collection.name, generation: g.id, model: g.model }),
          (err: unknown) => log.warn('retention: could not drop generation', { generation: g.id, error: err }),
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

  private view(job: JobRow): JobView {
    const p = this.progress.get(job.id);
    let rate: number | null = null;
    if (p && job.state === 'running') {
      const seconds = (performance.now() - p.startedAt) / 1000;
      rate = seconds > 0.5 ? (job.done - p.startDone) / seconds : null;
    }
    return {
      id: job.id,
      kind: job.kind,
      collection: job.collection,
      state: job.state,
      model: job.model,
      generation: job.generation,
      previous_generation: job.previousGeneration,
      done: job.done,
      total: job.total,
      docs_per_s: rate === null ? null : Math.round(rate * 10) / 10,
      eta_seconds: rate ? Math.round(Math.max(0, job.total - job.done) / rate) : null,
      reason: job.reason,
      error: job.error,
      created_at: job.createdAt,
      started_at: job.startedAt,
      finished_at: job.finishedAt,
    };
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
    let job = this.ctx.store.getJob(id)!;
    try {
      const collection = requireCollection(this.ctx, job.collection);
      const live = liveGeneration(this.ctx, collection);
      const engine = await this.ctx.engines.get(job.model);
      if (job.generation === null) {
        const generation = this.ctx.store.createGeneration(collection.name, { model: job.model, dimensions: engine.dimensions, backend: live.backend });
        job = this.ctx.store.updateJob(id, { generation: generation.id, previousGeneration: live.id });
      }
      job = this.ctx.store.updateJob(id, { state: 'running', startedAt: job.startedAt ?? new Date().toISOString() });
      const generation = this.ctx.store.getGeneration(job.generation!)!;
      const index = await this.ctx.indexes.get(collection, generation);
      this.progress.set(id, { startedAt: performance.now(), startDone: this.ctx.store.countVectors(generation.id) });

      for (;;) {
        this.checkpoint(id);
        const ids = this.ctx.store.idsMissingVectors(collection.name, generation.id, this.config.reembedBatch);
        if (ids.length === 0) break;
        const started = performance.now();
        const docs = [...this.ctx.store.getDocuments(collection.name, ids).values()];
        const out = await engine.embed(docs.map(embeddingText), 'document');
        await this.ctx.writes.run(collection.name, async () => {
          // Under the lock no upsert can interleave: keep only documents unchanged since read.
          const current = this.ctx.store.contentHashes(collection.name, ids);
          const items = docs
            .map((d, i) => ({ id: d.id, vector: out.vectors[i]!, contentHash: d.contentHash, metadata: d.metadata }))
            .filter((item) => current.get(item.id) === item.contentHash);
          if (index.remote) await index.upsert(items);
          const { written, seq } = this.ctx.store.putGenerationVectors(collection.name, generation.id, items);
          if (!index.remote) {
            const keep = new Set(written);
            await index.upsert(items.filter((i) => keep.has(i.id)));
            index.markApplied?.(seq);
          }
        });
        job = this.ctx.store.updateJob(id, {
          done: this.ctx.store.countVectors(generation.id),
          total: this.ctx.store.countDocuments(collection.name),
          cursor: ids.at(-1)!,
        });
        await this.throttle(performance.now() - started);
      }

      this.checkpoint(id);
      await this.verifyAndSwap(id, collection.name, generation);
    } catch (err) {
      if (err instanceof Cancelled) {
        await this.finish(id, 'cancelled', null);
      } else if (this.stopping) {
        log.info('re-embedding job paused by shutdown; it resumes on the next start', { job: id });
      } else {
        log.error('re-embedding job failed', { job: id, collection: job.collection, error: err });
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
    for (let i = 0; i < 50 && this.ctx.engines.loaded().some((e) => e.queueDepth > 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async verifyAndSwap(id: string, collection: string, generation: GenerationRow): Promise<void> {
    await this.ctx.writes.run(collection, async () => {
      const documents = this.ctx.store.countDocuments(collection);
      const vectors = this.ctx.store.countVectors(generation.id);
      const missing = this.ctx.store.idsMissingVectors(collection, generation.id, 5);
      const row = requireCollection(this.ctx, collection);
      const indexed = await (await this.ctx.indexes.get(row, generation)).count();
      if (missing.length > 0 || vectors !== documents || indexed !== documents) {
        throw new InvalidInputError(
          `verification failed: ${documents} documents, ${vectors} vectors, ${indexed} indexed in generation ${generation.id}` +
            (missing.length > 0 ? `; missing e.g. ${missing.join(', ')}` : ''),
        );
      }
    });
    const row = requireCollection(this.ctx, collection);
    const live = liveGeneration(this.ctx, row);
    const gate = await this.hooks.gate?.(collection, live, generation);
    if (gate && !gate.ok) throw new InvalidInputError(`quality gate failed: ${gate.reason}`);
    this.checkpoint(id);
    await this.ctx.writes.run(collection, async () => {
      this.ctx.store.promoteGeneration(collection, generation.id);
    });
    await (await this.ctx.indexes.get(row, generation)).flush();
    const promoted = this.ctx.store.getGeneration(generation.id)!;
    this.ctx.store.updateJob(id, { state: 'succeeded', finishedAt: new Date().toISOString(), done: this.ctx.store.countVectors(generation.id) });
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
  }

  private async finish(id: string, state: 'cancelled' | 'failed', error: string | null): Promise<void> {
    const job = this.ctx.store.getJob(id)!;
    if (job.generation !== null) {
      const generation = this.ctx.store.getGeneration(job.generation);
      if (generation && generation.state === 'building') await this.dropGeneration(job.collection, generation);
    }
    this.ctx.store.updateJob(id, { state, error, finishedAt: new Date().toISOString() });
    log.info(`re-embedding job ${state}`, { job: id, collection: job.collection, error });
  }

  private async dropGeneration(collection: string, generation: GenerationRow): Promise<void> {
    await this.ctx.writes.run(collection, async () => {
      const row = this.ctx.store.getCollection(collection);
      if (row) await this.ctx.indexes.get(row, generation).catch(() => undefined);
      await this.ctx.indexes.close(generation.id, true);
      this.ctx.store.dropGeneration(generation.id);
    });
  }
}
