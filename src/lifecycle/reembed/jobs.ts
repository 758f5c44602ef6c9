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
 * - Two ways to fill (JobStatus.method). 'embed': the target's engine embeds every document's text.
 *   'transform': the target is an adapter (src/models/trained/adapter.ts) whose parent is the model
 *   of the live generation the job starts from, so its vectors are normalize(v + vW) of the
 *   parent's: the job reads the live generation's stored vectors and applies W (read from the
 *   adapter's checksummed adapter.bin) in JS, running no model over the corpus. Everything else
 *   (batches in id order, the content-hash check under the lock, progress, cancel, resume,
 *   verification, gate, swap) is the same; writes during the job still embed with the adapter's
 *   engine (src/search/documents.ts), which serves the same map to within float error. A document
 *   whose live vector cannot be used (none stored, or one the client supplied, which belongs to the
 *   client rather than to the text) is embedded from its text instead.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { EmbeddingEngine } from '../../embedding/engine.ts';
import type { EnginePool } from '../../embedding/pool.ts';
import { ConflictError, InvalidInputError, JobNotFoundError } from '../../errors.ts';
import { log } from '../../log.ts';
import type { ModelVersion } from '../../models/registry.ts';
import { hasAdapterWeights, readAdapterWeights } from '../../models/trained/adapter.ts';
import { liveGeneration, requireCollection, type CollectionsHolder } from '../../search/context.ts';
import { contentHash, embeddingText } from '../../search/documents.ts';
import type { GenerationIndexes } from '../../search/generations.ts';
import type { KeyedMutex } from '../../search/mutex.ts';
import type { CollectionsRepository, DocumentRow, DocumentsRepository, GenerationRow, JobRow, JobsRepository } from '../../store/types.ts';
import { applyAdapter } from '../../training/adapter.ts';
import { faultPoint } from '../../util/fault-points.ts';

/**
 * What re-embedding needs, handed over by the composition root (src/runtime.ts): the three
 * repositories it reads and writes, the engines, the generations' indexes, and the collection
 * write lock it shares with the search service's write path.
 */
export interface ReembedDeps {
  readonly collections: CollectionsRepository;
  readonly documents: Pick<DocumentsRepository, 'countDocuments' | 'countVectors' | 'idsMissingVectors' | 'getDocuments' | 'getVectors' | 'contentHashes' | 'putGenerationVectors'>;
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

/**
 * How a job fills its generation: 'embed' runs the target model over every document's text;
 * 'transform' applies an adapter's W to the live generation's stored vectors (its parent's).
 */
export type ReembedMethod = 'transform' | 'embed';

/** A job as stored, with the progress rate this process measured (the API's view: src/api/views/job.ts). */
export interface JobStatus extends JobRow {
  /** Documents per second since this process started running it; null when not running (or too early to say). */
  readonly docsPerSecond: number | null;
  readonly etaSeconds: number | null;
  /** How it fills its generation; null for a job this process has not started or run (it is not stored). */
  readonly method: ReembedMethod | null;
}

/** What the transform path needs: the adapter's W and the generation whose stored vectors it maps. */
interface Transform {
  readonly W: Float32Array;
  readonly from: GenerationRow;
}

/**
 * Whether a job to `target` starting from `live` can fill its generation by transforming live's
 * stored vectors: `target` is an adapter of live's model, of live's dimensions, carrying adapter.bin.
 */
export function transformsFrom(target: Pick<ModelVersion, 'manifest'>, live: Pick<GenerationRow, 'model' | 'dimensions'>): boolean {
  const m = target.manifest;
  return m.lineage?.kind === 'adapter' && m.lineage.parent === live.model && m.dimensions === live.dimensions && hasAdapterWeights(target);
}

/**
 * Which of a collection's generations a rollback makes live: the most recently retired one (ties,
 * as when two were retired in the same millisecond, go to the higher id); undefined when none is retired.
 */
export function rollbackTarget(generations: readonly GenerationRow[]): GenerationRow | undefined {
  return generations.filter((g) => g.state === 'retired').sort((a, b) => (b.retiredAt ?? '').localeCompare(a.retiredAt ?? '') || b.id - a.id)[0];
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
  /** How each job this process started or ran fills its generation (not stored: see JobStatus.method). */
  private readonly methods = new Map<string, ReembedMethod>();
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
      if (job.kind !== 'reembed' || !ACTIVE.includes(job.state)) continue;
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
    // What the job will do, as far as the manifest says (execute decides again, reading W).
    const liveId = this.deps.collections.getCollection(collection)?.liveGeneration ?? null;
    const live = liveId === null ? undefined : this.deps.collections.getGeneration(liveId);
    const method: ReembedMethod = live && transformsFrom(version, live) ? 'transform' : 'embed';
    const job = this.deps.jobs.createJob({
      id: randomUUID(),
      collection,
      model: version.id,
      reason: options.reason ?? 'manual',
      total: this.deps.documents.countDocuments(collection),
    });
    this.methods.set(job.id, method);
    log.info('re-embedding job queued', { job: job.id, collection, model: version.id, reason: job.reason, method });
    this.launch(job.id);
    return this.view(job);
  }

  /**
   * Starts a job once the collection's re-embedding in progress, if any, has finished (a trained
   * version's activation waits for the job before it instead of failing). `signal` stops the wait.
   */
  async startWhenIdle(collection: string, options: { model?: string; reason?: string }, signal?: AbortSignal): Promise<JobStatus> {
    for (;;) {
      if (signal?.aborted) throw new ConflictError(`gave up waiting for the re-embedding job on collection '${collection}'`);
      if (this.stopping) throw new ConflictError('shutting down');
      const active = this.deps.jobs.listJobs(collection).find((j) => j.kind === 'reembed' && ACTIVE.includes(j.state));
      if (!active) {
        try {
          return await this.start(collection, options);
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err;
          continue;
        }
      }
      log.info('waiting for a re-embedding job before starting another', { collection, waitingFor: active.id, model: options.model });
      const run = this.running.get(active.id);
      if (run) await run;
      else await new Promise((r) => setTimeout(r, 500));
    }
  }

  private refuseRollbackDuringJob(collection: string): void {
    const active = this.deps.jobs.listJobs(collection).find((j) => j.kind === 'reembed' && ACTIVE.includes(j.state));
    if (active) throw new ConflictError(`collection '${collection}' has a re-embedding job in progress (${active.id}); cancel it first`);
  }

  private refuseIfActive(collection: string): void {
    const active = this.deps.jobs.listJobs(collection).find((j) => j.kind === 'reembed' && ACTIVE.includes(j.state));
    if (active) throw new ConflictError(`collection '${collection}' already has a re-embedding job (${active.id}, ${active.state})`, { job: active.id });
  }

  get(id: string): JobStatus {
    const job = this.deps.jobs.getJob(id);
    if (!job || job.kind !== 'reembed') throw new JobNotFoundError(`job '${id}' does not exist`);
    return this.view(job);
  }

  list(collection?: string): JobStatus[] {
    return this.deps.jobs.listJobs(collection).filter((j) => j.kind === 'reembed').map((j) => this.view(j));
  }

  /** Cancels a queued or running job; the live generation is untouched and the partial one removed. */
  async cancel(id: string): Promise<JobStatus> {
    const job = this.deps.jobs.getJob(id);
    if (!job || job.kind !== 'reembed') throw new JobNotFoundError(`job '${id}' does not exist`);
    if (!ACTIVE.includes(job.state)) throw new ConflictError(`job '${id}' is already ${job.state}`);
    this.cancelRequested.add(id);
    const run = this.running.get(id);
    if (run) await run;
    else await this.finish(id, 'cancelled', null);
    return this.get(id);
  }

  /** Makes the most recently replaced generation live again (`rollbackTarget`). */
  async rollback(collection: string): Promise<GenerationRow> {
    requireCollection(this.lookup, collection);
    this.refuseRollbackDuringJob(collection);
    const retired = rollbackTarget(this.deps.collections.listGenerations(collection));
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
    return { ...job, docsPerSecond: rate, etaSeconds: rate ? Math.max(0, job.total - job.done) / rate : null, method: this.methods.get(job.id) ?? null };
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
      const transform = await this.transformFor(job, live, engine);
      const method: ReembedMethod = transform ? 'transform' : 'embed';
      this.methods.set(id, method);
      if (job.generation === null) {
        const generation = this.deps.collections.createGeneration(collection.name, { model: job.model, dimensions: engine.dimensions, backend: live.backend });
        job = this.deps.jobs.updateJob(id, { generation: generation.id, previousGeneration: live.id });
      }
      job = this.deps.jobs.updateJob(id, { state: 'running', startedAt: job.startedAt ?? new Date().toISOString() });
      const generation = this.deps.collections.getGeneration(job.generation!)!;
      const index = await this.deps.indexes.get(collection, generation);
      this.progress.set(id, { startedAt: performance.now(), startDone: this.deps.documents.countVectors(generation.id) });
      log.info('re-embedding job filling its generation', {
        job: id,
        collection: collection.name,
        generation: generation.id,
        model: job.model,
        method,
        ...(transform ? { from: transform.from.id, fromModel: transform.from.model } : {}),
      });

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
        const vectors = transform ? await this.transformed(id, docs, transform, engine) : (await engine.embed(docs.map(embeddingText), 'document')).vectors;
        await this.deps.writes.run(collection.name, async () => {
          // Under the lock no upsert can interleave: keep only documents unchanged since read.
          const current = this.deps.documents.contentHashes(collection.name, ids);
          const items = docs
            .map((d, i) => ({ id: d.id, vector: vectors[i]!, contentHash: d.contentHash, metadata: d.metadata }))
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

  /**
   * The transform path's W and source generation when the job can take it (see transformsFrom),
   * else undefined (embed). The source is the live generation the job started from: no swap or
   * rollback happens while a job is active, so on resume it is still live; if not, embed.
   */
  private async transformFor(job: JobRow, live: GenerationRow, engine: EmbeddingEngine): Promise<Transform | undefined> {
    const target = engine.version;
    if (target.manifest.lineage?.kind !== 'adapter' || target.manifest.lineage.parent !== live.model) return undefined;
    if (job.previousGeneration !== null && job.previousGeneration !== live.id) {
      log.warn('re-embedding job: the generation it started from is no longer live; embedding instead of transforming', { job: job.id, from: job.previousGeneration, live: live.id });
      return undefined;
    }
    if (!transformsFrom(target, live)) {
      log.info('re-embedding job: adapter cannot transform the live vectors (no adapter.bin, or other dimensions); embedding', { job: job.id, model: target.id, live: live.id });
      return undefined;
    }
    // Checks adapter.bin's size and checksum: a corrupted file fails the job like a corrupted model.
    return { W: await readAdapterWeights(target), from: live };
  }

  /**
   * The transform path's vectors for a batch: normalize(v + vW) of each document's vector in the
   * source generation. Read right after the documents, with nothing awaited between (the store is
   * synchronous and a write commits a document and all its vectors at once), so each vector belongs
   * to the content read; the caller's content-hash check under the lock drops what changed since.
   * Documents without a stored vector, or whose stored vector the client supplied (their content
   * hash covers it), are embedded from their text like any other generation but the live one.
   */
  private async transformed(id: string, docs: readonly DocumentRow[], transform: Transform, engine: EmbeddingEngine): Promise<Float32Array[]> {
    const stored = this.deps.documents.getVectors(transform.from.id, docs.map((d) => d.id));
    const out: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(docs.length);
    const missing: number[] = [];
    const supplied: number[] = [];
    const mapped: number[] = [];
    docs.forEach((d, i) => {
      const v = stored.get(d.id);
      if (!v || v.length !== transform.from.dimensions) missing.push(i);
      else if (contentHash({ id: d.id, title: d.title, text: d.text, metadata: d.metadata }) !== d.contentHash) supplied.push(i);
      else mapped.push(i);
    });
    applyAdapter(transform.W, mapped.map((i) => stored.get(docs[i]!.id)!)).forEach((v, k) => (out[mapped[k]!] = v));
    if (missing.length > 0) {
      log.warn('re-embedding job: documents without a vector in the generation it transforms; embedding them', {
        job: id,
        generation: transform.from.id,
        documents: missing.length,
        ids: missing.slice(0, 10).map((i) => docs[i]!.id),
      });
    }
    if (supplied.length > 0) {
      log.info('re-embedding job: documents whose live vector the client supplied; embedding their text', { job: id, documents: supplied.length });
    }
    const toEmbed = [...missing, ...supplied];
    if (toEmbed.length > 0) {
      const embedded = await engine.embed(toEmbed.map((i) => embeddingText(docs[i]!)), 'document');
      embedded.vectors.forEach((v, k) => (out[toEmbed[k]!] = v));
    }
    return out as Float32Array[];
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
