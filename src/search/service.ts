/**
 * The search service: collections, documents and queries over the store, the embedding engines
 * and the vector indexes. Faces (HTTP, CLI) talk to this class only.
 */
import type { Config } from '../config.ts';
import { EnginePool } from '../embedding/pool.ts';
import { CollectionExistsError, InvalidInputError } from '../errors.ts';
import type { Filter } from '../values/filter.ts';
import { DEFAULT_HNSW, type BackendKind, type HnswSettings } from '../values/backend.ts';
import { log } from '../log.ts';
import { ModelRegistry } from '../models/registry.ts';
import { lockDataDir, type DataDirLock } from '../store/lock.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { CollectionRow, DocumentRow, GenerationRow } from '../store/types.ts';
import { backupDataDir, type BackupManifest } from './backup.ts';
import { liveGeneration, requireCollection, type SearchContext } from './context.ts';
import { deleteByFilter, deleteDocuments, getDocument, listDocuments, upsertDocuments, type DocumentInput, type DocumentPage, type UpsertResult } from './documents.ts';
import { SearchEvents } from './events.ts';
import { GenerationIndexes } from './generations.ts';
import { KeyedMutex } from './mutex.ts';
import { explainDocument, type ExplainRequest, type ExplainResponse } from './explain-document.ts';
import { search, type SearchRequest, type SearchResponse } from './query.ts';

export const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export interface CreateCollection {
  readonly name: string;
  readonly model?: string;
  readonly backend?: BackendKind;
  readonly hnsw?: Partial<HnswSettings>;
  readonly hybridAlpha?: number;
}

/** A collection as the service describes it (the API's JSON for it: src/api/views/collection.ts). */
export interface CollectionSummary {
  readonly name: string;
  readonly documentCount: number;
  /** Concrete name@version of the live generation. */
  readonly model: string;
  /** Alias or name@version the collection should follow. */
  readonly target: string;
  readonly dimensions: number;
  readonly backend: BackendKind;
  readonly generation: number;
  readonly hnsw: HnswSettings;
  readonly hybridAlpha: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export class SearchService {
  readonly events: SearchEvents;

  private constructor(
    private readonly ctx: SearchContext,
    private readonly lock: DataDirLock,
  ) {
    this.events = ctx.events;
  }

  /** Locks the data directory, opens the store, and loads every collection's live index (replaying the store tail). */
  static async open(config: Config, engines = new EnginePool(new ModelRegistry(config.modelsDir), config)): Promise<SearchService> {
    const lock = lockDataDir(config.dataDir);
    try {
      const store = SqliteStore.open(config.dataDir);
      const ctx: SearchContext = {
        config,
        store,
        engines,
        indexes: new GenerationIndexes(config, store),
        events: new SearchEvents(),
        writes: new KeyedMutex(),
      };
      const service = new SearchService(ctx, lock);
      for (const collection of store.listCollections()) {
        for (const generation of store.listGenerations(collection.name).filter((g) => g.state !== 'retired')) {
          await ctx.indexes.get(collection, generation);
        }
      }
      return service;
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  get context(): SearchContext {
    return this.ctx;
  }

  get engines(): EnginePool {
    return this.ctx.engines;
  }

  async createCollection(spec: CreateCollection): Promise<CollectionSummary> {
    if (!COLLECTION_NAME.test(spec.name)) {
      throw new InvalidInputError(`collection name '${spec.name}' must be 1-64 characters of letters, digits, '_' or '-', starting with a letter or digit`);
    }
    if (this.ctx.store.getCollection(spec.name)) throw new CollectionExistsError(`collection '${spec.name}' already exists`);
    const target = spec.model ?? this.ctx.config.defaultModel;
    const version = await this.ctx.engines.resolve(target);
    const backend = spec.backend ?? 'hnsw';
    const hnsw: HnswSettings = { ...DEFAULT_HNSW, ...spec.hnsw };
    const { collection, generation } = this.ctx.store.createCollection({
      name: spec.name,
      modelTarget: target,
      model: version.id,
      dimensions: version.manifest.dimensions,
      backend,
      hnsw,
      hybridAlpha: spec.hybridAlpha ?? this.ctx.config.hybridAlpha,
    });
    try {
      await this.ctx.indexes.get(collection, generation);
      await this.ctx.engines.get(version.id);
    } catch (err) {
      // The index or model cannot be opened (e.g. Pinecone unreachable): leave nothing behind.
      await this.ctx.indexes.close(generation.id);
      this.ctx.store.deleteCollection(spec.name);
      throw err;
    }
    log.info('collection created', { collection: spec.name, model: version.id, backend });
    return this.info(spec.name);
  }

  /** The collection's stored settings (drift, policy, evaluation set), as the lifecycle keeps them. */
  settingsOf(name: string): Readonly<Record<string, unknown>> {
    return requireCollection(this.ctx, name).settings;
  }

  hasCollection(name: string): boolean {
    return this.ctx.store.getCollection(name) !== undefined;
  }

  listCollections(): CollectionSummary[] {
    return this.ctx.store.listCollections().map((c) => this.describe(c));
  }

  info(name: string): CollectionSummary {
    return this.describe(requireCollection(this.ctx, name));
  }

  private describe(c: CollectionRow): CollectionSummary {
    const generation = liveGeneration(this.ctx, c);
    return {
      name: c.name,
      documentCount: this.ctx.store.countDocuments(c.name),
      model: generation.model,
      target: c.modelTarget,
      dimensions: generation.dimensions,
      backend: generation.backend,
      generation: generation.id,
      hnsw: c.hnsw,
      hybridAlpha: c.hybridAlpha,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    };
  }

  /** The collection's index generations (live, being built, retired and kept for rollback), newest first. */
  generations(name: string): GenerationRow[] {
    const collection = requireCollection(this.ctx, name);
    return this.ctx.store.listGenerations(collection.name).sort((a, b) => b.id - a.id);
  }

  /** Changes what the collection follows and its search defaults (not its live model: that takes a job). */
  async updateCollection(
    name: string,
    patch: { target?: string; hybridAlpha?: number; efSearch?: number; settings?: Readonly<Record<string, unknown>> },
  ): Promise<CollectionSummary> {
    const row = requireCollection(this.ctx, name);
    // A target must name an existing version; the live model only changes through a re-embedding job.
    if (patch.target !== undefined) await this.ctx.engines.resolve(patch.target);
    this.ctx.store.updateCollection(name, {
      modelTarget: patch.target,
      hybridAlpha: patch.hybridAlpha,
      hnsw: patch.efSearch === undefined ? undefined : { ...row.hnsw, efSearch: patch.efSearch },
      settings: patch.settings === undefined ? undefined : { ...row.settings, ...patch.settings },
    });
    return this.info(name);
  }

  async deleteCollection(name: string): Promise<void> {
    const collection = requireCollection(this.ctx, name);
    await this.ctx.writes.run(name, async () => {
      for (const g of this.ctx.store.listGenerations(name)) {
        // Open to drop: the index's own files (or remote namespace) go with it.
        await this.ctx.indexes.get(collection, g).catch(() => undefined);
        await this.ctx.indexes.close(g.id, true).catch((err: unknown) => log.warn('could not drop index', { generation: g.id, err }));
      }
      this.ctx.store.deleteCollection(name);
    });
    log.info('collection deleted', { collection: name });
  }

  upsertDocuments(collection: string, docs: readonly DocumentInput[]): Promise<UpsertResult> {
    return upsertDocuments(this.ctx, collection, docs);
  }

  getDocument(collection: string, id: string): DocumentRow | undefined {
    return getDocument(this.ctx, collection, id);
  }

  /** A page of the collection's documents in id order (documents.ts). */
  listDocuments(collection: string, options: { after?: string; limit?: number } = {}): DocumentPage {
    return listDocuments(this.ctx, collection, options);
  }

  deleteDocuments(collection: string, ids: readonly string[]): Promise<string[]> {
    return deleteDocuments(this.ctx, collection, ids);
  }

  deleteByFilter(collection: string, filter: Filter): Promise<string[]> {
    return deleteByFilter(this.ctx, collection, filter);
  }

  search(collection: string, request: SearchRequest): Promise<SearchResponse> {
    return search(this.ctx, collection, request);
  }

  /** Why one document scores what it does for a query (explain-document.ts). */
  explain(collection: string, request: ExplainRequest): Promise<ExplainResponse> {
    return explainDocument(this.ctx, collection, request);
  }

  /** A consistent copy of the data directory in `dir` while this service keeps serving (backup.ts). */
  backup(dir: string): Promise<BackupManifest> {
    return backupDataDir(this.ctx, dir);
  }

  /** Flushes index snapshots and closes everything; the data directory is unlocked last. */
  async close(): Promise<void> {
    try {
      await this.ctx.indexes.closeAll();
      await this.ctx.engines.close();
      this.ctx.store.close();
    } finally {
      this.lock.release();
    }
  }
}
