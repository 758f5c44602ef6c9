/**
 * One interface for every vector index backend (local HNSW, Pinecone), chosen by a factory.
 * Scores are cosine similarities (vectors are unit length), higher is better.
 */
import type { BackendKind } from '../values/backend.ts';
import type { Filter, Metadata } from '../values/filter.ts';

export interface IndexedVector {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata?: Metadata;
}

export interface VectorHit {
  readonly id: string;
  readonly score: number;
}

export interface VectorQuery {
  readonly vector: Float32Array;
  readonly k: number;
  /** HNSW breadth for this query; backends without it ignore it. */
  readonly ef?: number;
  readonly filter?: Filter;
}

/** A local index's snapshot held in place for copying (backups). */
export interface SnapshotPin {
  readonly dir: string;
  /** File names in `dir` that make up the snapshot (empty: none written yet). */
  readonly files: readonly string[];
  readonly appliedSeq: number;
  release(): void;
}

export interface VectorIndex {
  readonly kind: BackendKind;
  readonly dimensions: number;
  /**
   * true when writes go to another system that can fail independently (Pinecone): the caller
   * writes there before committing to SQLite. Local indexes apply after the commit and are
   * rebuilt from SQLite on restart.
   */
  readonly remote: boolean;
  /**
   * Local indexes only: the highest store change seq the index reflects. On open the owner
   * replays the store's later changes and calls markApplied; remote indexes leave both undefined.
   */
  readonly appliedSeq?: number;
  /** Local indexes only: the change seq their snapshot on disk holds (0: none yet). */
  readonly durableSeq?: number;
  markApplied?(seq: number): void;
  upsert(items: readonly IndexedVector[]): Promise<void>;
  delete(ids: readonly string[]): Promise<void>;
  search(query: VectorQuery): Promise<VectorHit[]>;
  count(): Promise<number>;
  /**
   * Local indexes only: holds the on-disk snapshot unchanged until released (backups copy it).
   */
  pinSnapshot?(): Promise<SnapshotPin>;
  /** Persists what is in memory (HNSW snapshot); no-op for remote backends. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Removes the index's data for good (files, namespace). */
  drop(): Promise<void>;
}
