/**
 * Collections and their index generations (`collections`, `generations`), with the row caches
 * every search reads through. Separate because these rows are the catalog the other repositories
 * look things up in (a collection's FTS key, its generations' dimensions) and because their caches
 * are only sound while every write goes through `StoreDatabase.write()`, which clears them.
 *
 * Creating a collection creates its keyword index, and deleting one removes the rows every other
 * repository holds for it — each in one transaction, through the helpers those repositories export
 * for use inside someone else's `write()`.
 */
import { CollectionExistsError, CollectionNotFoundError, InvalidInputError } from '../errors.ts';
import type { BackendKind, HnswSettings } from '../values/backend.ts';
import { deleteCollectionChanges } from './change-log.ts';
import type { StoreDatabase } from './database.ts';
import { deleteCollectionDocuments, deleteGenerationVectors } from './documents.ts';
import { deleteCollectionDrift } from './drift.ts';
import { deleteCollectionFeedback } from './feedback.ts';
import { KeywordIndex, type CollectionKeys } from './keyword.ts';
import { isPlainObject, nowIso, parseJsonObject, requireName } from './rows.ts';
import type { CollectionRow, CollectionsRepository, GenerationRow, GenerationState, NewCollection } from './types.ts';

const BACKENDS: readonly BackendKind[] = ['hnsw', 'pinecone'];

interface CollectionRecord {
  key: number;
  name: string;
  model_target: string;
  backend: BackendKind;
  hnsw: string;
  hybrid_alpha: number;
  live_generation: number | null;
  settings: string;
  created_at: string;
  updated_at: string;
}

interface GenerationRecord {
  id: number;
  collection: string;
  model: string;
  dimensions: number;
  backend: BackendKind;
  state: GenerationState;
  created_at: string;
  retired_at: string | null;
}

function toCollectionRow(r: CollectionRecord): CollectionRow {
  return {
    name: r.name,
    modelTarget: r.model_target,
    backend: r.backend,
    hnsw: JSON.parse(r.hnsw) as HnswSettings,
    hybridAlpha: r.hybrid_alpha,
    liveGeneration: r.live_generation,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    settings: parseJsonObject(r.settings),
  };
}

function toGenerationRow(r: GenerationRecord): GenerationRow {
  return {
    id: r.id,
    collection: r.collection,
    model: r.model,
    dimensions: r.dimensions,
    backend: r.backend,
    state: r.state,
    createdAt: r.created_at,
    retiredAt: r.retired_at,
  };
}

function validateHnsw(hnsw: HnswSettings): void {
  for (const key of ['M', 'efConstruction', 'efSearch'] as const) {
    const v = hnsw?.[key];
    if (!Number.isInteger(v) || v <= 0) throw new InvalidInputError(`hnsw.${key} must be a positive integer`);
  }
}

function validateAlpha(alpha: number): void {
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw new InvalidInputError('hybridAlpha must be between 0 and 1');
}

function validateGenerationSpec(spec: { model: string; dimensions: number; backend: BackendKind }): void {
  requireName(spec.model, 'model');
  if (!Number.isInteger(spec.dimensions) || spec.dimensions <= 0) throw new InvalidInputError('dimensions must be a positive integer');
  if (!BACKENDS.includes(spec.backend)) throw new InvalidInputError(`backend must be one of ${BACKENDS.join(', ')}`);
}

export class SqliteCollections implements CollectionsRepository, CollectionKeys {
  private readonly collectionCache = new Map<string, CollectionRow | undefined>();
  private readonly generationCache = new Map<number, GenerationRow | undefined>();

  constructor(private readonly db: StoreDatabase) {
    db.onWrite(() => {
      this.collectionCache.clear();
      this.generationCache.clear();
    });
  }

  createCollection(spec: NewCollection): { collection: CollectionRow; generation: GenerationRow } {
    requireName(spec.name, 'collection name');
    requireName(spec.modelTarget, 'modelTarget');
    validateGenerationSpec(spec);
    validateHnsw(spec.hnsw);
    validateAlpha(spec.hybridAlpha);
    return this.db.write(() => {
      if (this.collectionRecord(spec.name)) throw new CollectionExistsError(`collection '${spec.name}' already exists`, { collection: spec.name });
      const now = nowIso();
      const { lastInsertRowid } = this.db.stmt(
        `INSERT INTO collections (name, model_target, backend, hnsw, hybrid_alpha, live_generation, settings, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, NULL, '{}', ?, ?)`,
      ).run(spec.name, spec.modelTarget, spec.backend, JSON.stringify(spec.hnsw), spec.hybridAlpha, now, now);
      const generationId = this.insertGeneration(spec.name, spec, 'live', now);
      this.db.stmt('UPDATE collections SET live_generation = ? WHERE name = ?').run(generationId, spec.name);
      new KeywordIndex(this.db, Number(lastInsertRowid)).create();
      return { collection: this.getCollection(spec.name)!, generation: this.getGeneration(generationId)! };
    });
  }

  getCollection(name: string): CollectionRow | undefined {
    // Every search reads its collection and generation rows; they change only through write()
    // (this process holds the data dir), which clears the cache, as close() does.
    if (this.collectionCache.has(name)) return this.collectionCache.get(name);
    const record = this.collectionRecord(name);
    const row = record && toCollectionRow(record);
    this.collectionCache.set(name, row);
    return row;
  }

  listCollections(): CollectionRow[] {
    return (this.db.stmt('SELECT * FROM collections ORDER BY name').all() as CollectionRecord[]).map(toCollectionRow);
  }

  updateCollection(
    name: string,
    patch: Partial<Pick<CollectionRow, 'modelTarget' | 'hnsw' | 'hybridAlpha' | 'settings'>>,
  ): CollectionRow {
    if (patch.modelTarget !== undefined) requireName(patch.modelTarget, 'modelTarget');
    if (patch.hnsw !== undefined) validateHnsw(patch.hnsw);
    if (patch.hybridAlpha !== undefined) validateAlpha(patch.hybridAlpha);
    if (patch.settings !== undefined && !isPlainObject(patch.settings)) throw new InvalidInputError('settings must be an object');
    return this.db.write(() => {
      const current = this.requireCollection(name);
      this.db.stmt(
        `UPDATE collections SET model_target = ?, hnsw = ?, hybrid_alpha = ?, settings = ?, updated_at = ? WHERE name = ?`,
      ).run(
        patch.modelTarget ?? current.model_target,
        patch.hnsw !== undefined ? JSON.stringify(patch.hnsw) : current.hnsw,
        patch.hybridAlpha ?? current.hybrid_alpha,
        patch.settings !== undefined ? JSON.stringify(patch.settings) : current.settings,
        nowIso(),
        name,
      );
      return this.getCollection(name)!;
    });
  }

  deleteCollection(name: string): boolean {
    return this.db.write(() => {
      const record = this.collectionRecord(name);
      if (!record) return false;
      // Explicit deletes rather than relying on cascades: clearer, and vectors go by index range.
      deleteCollectionChanges(this.db, name);
      deleteCollectionDocuments(this.db, name);
      this.db.stmt('DELETE FROM generations WHERE collection = ?').run(name);
      this.db.stmt('DELETE FROM collections WHERE name = ?').run(name);
      deleteCollectionDrift(this.db, name);
      deleteCollectionFeedback(this.db, name);
      new KeywordIndex(this.db, record.key).drop();
      return true;
    });
  }

  createGeneration(collection: string, spec: { model: string; dimensions: number; backend: BackendKind }): GenerationRow {
    validateGenerationSpec(spec);
    return this.db.write(() => {
      this.requireCollection(collection);
      return this.getGeneration(this.insertGeneration(collection, spec, 'building', nowIso()))!;
    });
  }

  getGeneration(id: number): GenerationRow | undefined {
    if (this.generationCache.has(id)) return this.generationCache.get(id);
    const record = this.db.stmt('SELECT * FROM generations WHERE id = ?').get(id) as GenerationRecord | undefined;
    const row = record && toGenerationRow(record);
    this.generationCache.set(id, row);
    return row;
  }

  listGenerations(collection: string): GenerationRow[] {
    return (this.db.stmt('SELECT * FROM generations WHERE collection = ? ORDER BY id').all(collection) as GenerationRecord[]).map(
      toGenerationRow,
    );
  }

  /** A retired generation may be promoted again (rollback); its retired_at is cleared. */
  promoteGeneration(collection: string, id: number): void {
    this.db.write(() => {
      this.requireCollection(collection);
      const generation = this.getGeneration(id);
      if (!generation || generation.collection !== collection) {
        throw new InvalidInputError(`generation ${id} is not a generation of collection '${collection}'`, { collection, generation: id });
      }
      if (generation.state === 'live') return;
      const now = nowIso();
      // Retire first: the partial unique index allows one live generation at any moment.
      this.db.stmt(`UPDATE generations SET state = 'retired', retired_at = ? WHERE collection = ? AND state = 'live'`).run(now, collection);
      this.db.stmt(`UPDATE generations SET state = 'live', retired_at = NULL WHERE id = ?`).run(id);
      this.db.stmt('UPDATE collections SET live_generation = ?, updated_at = ? WHERE name = ?').run(id, now, collection);
    });
  }

  /** Unknown ids are ignored; the live generation cannot be dropped (promote another first). */
  dropGeneration(id: number): void {
    this.db.write(() => {
      const generation = this.getGeneration(id);
      if (!generation) return;
      if (generation.state === 'live') {
        throw new InvalidInputError(`generation ${id} is live for collection '${generation.collection}'; promote another generation first`);
      }
      deleteGenerationVectors(this.db, id);
      this.db.stmt('DELETE FROM generations WHERE id = ?').run(id);
    });
  }

  // ---- lookups for the other repositories (not part of CollectionsRepository) ----

  /** The key naming the collection's FTS table; read uncached, so it is safe inside a write. */
  collectionKey(name: string): number {
    return this.requireCollection(name).key;
  }

  /** Generation id → dimensions for a collection's generations. */
  generationDimensions(collection: string): Map<number, number> {
    const rows = this.db.stmt('SELECT id, dimensions FROM generations WHERE collection = ?').all(collection) as { id: number; dimensions: number }[];
    return new Map(rows.map((r) => [r.id, r.dimensions]));
  }

  private collectionRecord(name: string): CollectionRecord | undefined {
    return this.db.stmt('SELECT * FROM collections WHERE name = ?').get(name) as CollectionRecord | undefined;
  }

  private requireCollection(name: string): CollectionRecord {
    const record = this.collectionRecord(name);
    if (!record) throw new CollectionNotFoundError(`collection '${name}' does not exist`, { collection: name });
    return record;
  }

  private insertGeneration(
    collection: string,
    spec: { model: string; dimensions: number; backend: BackendKind },
    state: GenerationState,
    now: string,
  ): number {
    const { lastInsertRowid } = this.db.stmt(
      'INSERT INTO generations (collection, model, dimensions, backend, state, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(collection, spec.model, spec.dimensions, spec.backend, state, now);
    return Number(lastInsertRowid);
  }
}
