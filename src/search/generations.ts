/**
 * Open vector indexes by generation. Opening a local index replays the store's changes after its
 * snapshot, so a crash costs a replay of the tail; an index without a usable snapshot is rebuilt
 * from the stored vectors. Each durable snapshot is recorded in the store, which prunes the
 * change log behind the oldest snapshot of the collection's local generations.
 */
import type { Config } from '../config.ts';
import { openIndex } from '../index/factory.ts';
import type { VectorIndex } from '../index/types.ts';
import { log } from '../log.ts';
import type { CollectionRow, GenerationRow, Store } from '../store/types.ts';
import type { Metadata } from '../values/filter.ts';

const REPLAY_BATCH = 500;

export class GenerationIndexes {
  private readonly open = new Map<number, Promise<VectorIndex>>();

  constructor(
    private readonly config: Config,
    private readonly store: Store,
  ) {}

  get(collection: CollectionRow, generation: GenerationRow): Promise<VectorIndex> {
    let index = this.open.get(generation.id);
    if (!index) {
      index = this.load(collection, generation);
      this.open.set(generation.id, index);
      index.catch(() => this.open.delete(generation.id));
    }
    return index;
  }

  private async load(collection: CollectionRow, generation: GenerationRow): Promise<VectorIndex> {
    const open = () =>
      openIndex(this.config, generation, collection.hnsw, { onSnapshot: (seq) => this.snapshotWritten(collection.name, generation.id, seq) });
    let index = await open();
    if (index.appliedSeq === undefined || !index.markApplied) return index;
    const prunedThrough = this.store.prunedThrough(collection.name);
    if (index.appliedSeq === 0 || index.appliedSeq < prunedThrough) {
      if (index.appliedSeq > 0) {
        // The snapshot predates the pruned log (an old copy restored, or files put back by
        // hand): the changes it misses are gone, so it cannot be brought up to date. Start over.
        log.warn('index snapshot is older than the change log; rebuilding it from the stored vectors', {
          collection: collection.name,
          generation: generation.id,
          snapshotSeq: index.appliedSeq,
          prunedThrough,
        });
        await index.drop();
        index = await open();
      }
      await this.rebuild(collection, generation, index);
    } else {
      await this.replay(collection, generation, index, index.appliedSeq);
    }
    this.snapshotWritten(collection.name, generation.id, index.durableSeq ?? 0);
    return index;
  }

  /**
   * Fills an empty local index from the generation's stored vectors: one pass over the vectors
   * table instead of replaying the collection's history from seq 0 (which pruning removes).
   */
  private async rebuild(collection: CollectionRow, generation: GenerationRow, index: VectorIndex): Promise<void> {
    // Every change up to here is in the stored vectors; a write landing while the pages are read
    // is replayed after them (idempotent), so none is missed.
    const startSeq = this.store.lastSeq();
    const started = performance.now();
    let batch: { id: string; vector: Float32Array; metadata: Metadata }[] = [];
    let count = 0;
    for (const item of this.store.iterateVectors(generation.id)) {
      batch.push(item);
      if (batch.length >= REPLAY_BATCH) {
        await index.upsert(batch);
        count += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) await index.upsert(batch);
    count += batch.length;
    index.markApplied!(startSeq);
    await this.replay(collection, generation, index, startSeq);
    if (count > 0) {
      // Make the rebuild durable now rather than at the next timer tick.
      await index.flush();
      log.info('rebuilt index from stored vectors', {
        collection: collection.name,
        generation: generation.id,
        vectors: count,
        ms: Math.round(performance.now() - started),
      });
    }
  }

  /** Applies the store's changes after `afterSeq` (the tail a snapshot missed). */
  private async replay(collection: CollectionRow, generation: GenerationRow, index: VectorIndex, afterSeq: number): Promise<void> {
    const changes = this.store.changesSince(collection.name, afterSeq, generation.id);
    if (changes.length === 0) return;
    const started = performance.now();
    for (let i = 0; i < changes.length; i += REPLAY_BATCH) {
      const slice = changes.slice(i, i + REPLAY_BATCH);
      const upserts = slice.filter((c) => c.op === 'upsert').map((c) => c.docId);
      const deletes = slice.filter((c) => c.op === 'delete').map((c) => c.docId);
      if (deletes.length > 0) await index.delete(deletes);
      // A document may predate this generation (re-embedding fills it later): only ids with a vector here.
      if (upserts.length > 0) await index.upsert(this.store.vectorsWithMetadata(generation.id, upserts));
    }
    index.markApplied!(changes.at(-1)!.seq);
    log.info('replayed store changes into index', {
      collection: collection.name,
      generation: generation.id,
      changes: changes.length,
      ms: Math.round(performance.now() - started),
    });
  }

  /** A snapshot is durable: the change log behind every generation's snapshot can go. */
  private snapshotWritten(collection: string, generation: number, appliedSeq: number): void {
    try {
      const removed = this.store.recordSnapshot(collection, generation, appliedSeq);
      if (removed > 0) log.debug('pruned change log', { collection, generation, throughSeq: appliedSeq, removed });
    } catch (err) {
      // The store may be closing (shutdown writes a last snapshot); the next snapshot prunes.
      log.warn('could not record index snapshot in the store', { collection, generation, err });
    }
  }

  /** The generation's index if it is open (no load). */
  peek(generation: number): Promise<VectorIndex> | undefined {
    return this.open.get(generation);
  }

  async close(generation: number, drop = false): Promise<void> {
    const index = this.open.get(generation);
    this.open.delete(generation);
    if (!index) return;
    const resolved = await index.catch(() => undefined);
    if (!resolved) return;
    if (drop) await resolved.drop();
    else await resolved.close();
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.open.keys()]) await this.close(id);
  }
}
