/**
 * Rows and operations of the SQLite store — the source of truth from which every index can be
 * rebuilt. Implemented by `SqliteStore` (sqlite-store.ts).
 */
import type { Filter, Metadata } from '../index/filter.ts';
import type { BackendKind, HnswSettings } from '../index/types.ts';

export type GenerationState = 'building' | 'live' | 'retired';

export interface CollectionRow {
  readonly name: string;
  /** Alias or name@version the collection should follow. */
  readonly modelTarget: string;
  readonly backend: BackendKind;
  readonly hnsw: HnswSettings;
  /** Dense weight of hybrid search (0 = keyword only, 1 = dense only). */
  readonly hybridAlpha: number;
  /** Generation searches use; null only transiently while a collection is created. */
  readonly liveGeneration: number | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Free-form per-collection settings later features add (drift, policy, eval set). */
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface GenerationRow {
  readonly id: number;
  readonly collection: string;
  /** Concrete name@version that made this generation's vectors. */
  readonly model: string;
  readonly dimensions: number;
  readonly backend: BackendKind;
  readonly state: GenerationState;
  readonly createdAt: string;
  readonly retiredAt: string | null;
}

export interface DocumentRow {
  readonly id: string;
  readonly title: string | null;
  readonly text: string;
  readonly metadata: Metadata;
  readonly contentHash: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface DocumentWrite {
  readonly id: string;
  readonly title?: string | null;
  readonly text: string;
  readonly metadata?: Metadata;
  readonly contentHash: string;
  /** Vector per generation id; every generation listed receives the document. */
  readonly vectors: ReadonlyMap<number, Float32Array>;
}

export interface Change {
  readonly seq: number;
  readonly docId: string;
  readonly op: 'upsert' | 'delete';
}

export interface KeywordHit {
  readonly id: string;
  /** BM25 score, higher is better. */
  readonly score: number;
}

export interface NewCollection {
  readonly name: string;
  readonly modelTarget: string;
  readonly model: string;
  readonly dimensions: number;
  readonly backend: BackendKind;
  readonly hnsw: HnswSettings;
  readonly hybridAlpha: number;
}

export interface Store {
  close(): void;

  createCollection(spec: NewCollection): { collection: CollectionRow; generation: GenerationRow };
  getCollection(name: string): CollectionRow | undefined;
  listCollections(): CollectionRow[];
  updateCollection(name: string, patch: Partial<Pick<CollectionRow, 'modelTarget' | 'hnsw' | 'hybridAlpha' | 'settings'>>): CollectionRow;
  /** Removes the collection with its documents, vectors, generations, changes and keyword index. */
  deleteCollection(name: string): boolean;

  createGeneration(collection: string, spec: { model: string; dimensions: number; backend: BackendKind }): GenerationRow;
  getGeneration(id: number): GenerationRow | undefined;
  listGenerations(collection: string): GenerationRow[];
  /** Makes `id` live and the previous live generation retired, in one transaction. */
  promoteGeneration(collection: string, id: number): void;
  /** Deletes a generation's vectors and row. */
  dropGeneration(id: number): void;

  /** One transaction: documents, their vectors and change-log rows. Returns the last change seq. */
  upsertDocuments(collection: string, docs: readonly DocumentWrite[]): { seq: number };
  /** One transaction; ids that do not exist are ignored. Returns the ids actually deleted. */
  deleteDocuments(collection: string, ids: readonly string[]): { deleted: string[]; seq: number };
  getDocument(collection: string, id: string): DocumentRow | undefined;
  getDocuments(collection: string, ids: readonly string[]): Map<string, DocumentRow>;
  /** Content hashes of those ids that exist (bulk indexing skips unchanged documents). */
  contentHashes(collection: string, ids: readonly string[]): Map<string, string>;
  countDocuments(collection: string): number;
  /** Ids whose metadata matches, in id order. */
  idsMatching(collection: string, filter: Filter): string[];
  /** Pages through documents in id order (re-embedding, export). */
  documentsAfter(collection: string, afterId: string | null, limit: number): DocumentRow[];

  getVectors(generation: number, ids: readonly string[]): Map<string, Float32Array>;
  /** Every vector of a generation with its document's metadata (index rebuilds). */
  iterateVectors(generation: number): IterableIterator<{ id: string; vector: Float32Array; metadata: Metadata }>;
  countVectors(generation: number): number;
  /** Vectors of ids that exist, with metadata (exact search over a filtered set). */
  vectorsWithMetadata(generation: number, ids: readonly string[]): { id: string; vector: Float32Array; metadata: Metadata }[];

  /** Highest change seq overall (0 when none). */
  lastSeq(): number;
  /** Changes of a collection after `seq`, in order, latest change per document only. */
  changesSince(collection: string, seq: number): Change[];

  /** BM25 over title and text with Porter stemming; `allowed` restricts to those ids. */
  keywordSearch(collection: string, query: string, k: number, allowed?: ReadonlySet<string>): KeywordHit[];
}
