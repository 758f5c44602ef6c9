/** What every search-service operation works with; built once by `SearchService.open`. */
import type { Config } from '../config.ts';
import type { EnginePool } from '../embedding/pool.ts';
import { CollectionNotFoundError, InvalidInputError } from '../errors.ts';
import type { VectorIndex } from '../index/types.ts';
import type { CollectionRow, CollectionsRepository, GenerationRow, Store } from '../store/types.ts';
import type { SearchEvents } from './events.ts';
import type { GenerationIndexes } from './generations.ts';
import type { KeyedMutex } from './mutex.ts';

export interface SearchContext {
  readonly config: Config;
  readonly store: Store;
  readonly engines: EnginePool;
  readonly indexes: GenerationIndexes;
  readonly events: SearchEvents;
  /** Per-collection write lock: commits reach the index in commit order. */
  readonly writes: KeyedMutex;
}

/** What the lookups below read: any holder of the collections repository (the search context, lifecycle deps). */
export interface CollectionsHolder {
  readonly store: Pick<CollectionsRepository, 'getCollection' | 'getGeneration'>;
}

export function requireCollection(ctx: CollectionsHolder, name: string): CollectionRow {
  const collection = ctx.store.getCollection(name);
  if (!collection) throw new CollectionNotFoundError(`collection '${name}' does not exist`);
  return collection;
}

export function liveGeneration(ctx: CollectionsHolder, collection: CollectionRow): GenerationRow {
  const id = collection.liveGeneration;
  const generation = id === null ? undefined : ctx.store.getGeneration(id);
  if (!generation) throw new CollectionNotFoundError(`collection '${collection.name}' has no live generation`);
  return generation;
}

/**
 * Generations that receive writes: the live one, any being built by a re-embedding job, and
 * retired ones still kept for rollback (so a rollback restores an up-to-date index).
 */
export function writableGenerations(ctx: SearchContext, collection: CollectionRow): GenerationRow[] {
  return ctx.store.listGenerations(collection.name);
}

/** A generation of this collection by id (live, building or retired). */
export function requireGeneration(ctx: CollectionsHolder, collection: CollectionRow, id: number): GenerationRow {
  const generation = ctx.store.getGeneration(id);
  if (!generation || generation.collection !== collection.name) {
    throw new InvalidInputError(`collection '${collection.name}' has no generation ${id}`);
  }
  return generation;
}

export async function liveIndex(ctx: SearchContext, collection: CollectionRow): Promise<{ generation: GenerationRow; index: VectorIndex }> {
  const generation = liveGeneration(ctx, collection);
  return { generation, index: await ctx.indexes.get(collection, generation) };
}
