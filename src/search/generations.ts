/**
 * Open vector indexes by generation. Opening a local index replays every store change after
 * its snapshot, so a crash at any moment costs a replay of the tail, never a rebuild.
 */
import type { Config } from '../config.ts';
import { openIndex } from '../index/factory.ts';
import type { VectorIndex } from '../index/types.ts';
import { log } from '../log.ts';
import type { CollectionRow, GenerationRow, Store } from '../store/types.ts';

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
    const index = await openIndex(this.config, generation, collection.hnsw);
    if (index.appliedSeq !== undefined && index.markApplied) {
      const changes = this.store.changesSince(collection.name, index.appliedSeq, generation.id);
      if (changes.length > 0) {
        const started = performance.now();
        for (let i = 0; i < changes.length; i += REPLAY_BATCH) {
          const slice = changes.slice(i, i + REPLAY_BATCH);
          const upserts = slice.filter((c) => c.op === 'upsert').map((c) => c.docId);
          const deletes = slice.filter((c) => c.op === 'delete').map((c) => c.docId);
          if (deletes.length > 0) await index.delete(deletes);
          // A document may predate this generation (re-embedding fills it later): only ids with a vector here.
          if (upserts.length > 0) await index.upsert(this.store.vectorsWithMetadata(generation.id, upserts));
        }
        index.markApplied(changes.at(-1)!.seq);
        log.info('replayed store changes into index', {
          collection: collection.name,
          generation: generation.id,
          changes: changes.length,
          ms: Math.round(performance.now() - started),
        });
      }
    }
    return index;
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
