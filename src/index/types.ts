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
  markApplied?(seq: number): void;
  upsert(items: readonly IndexedVector[]): Promise<void>;
  delete(ids: readonly string[]): Promise<void>;
  search(query: VectorQuery): Promise<VectorHit[]>;
  count(): Promise<number>;
  /** Persists what is in memory (HNSW snapshot); no-op for remote backends. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Removes the index's data for good (files, namespace). */
  drop(): Promise<void>;
}
