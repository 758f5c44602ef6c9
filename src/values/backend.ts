/** Which vector index a collection uses and how its HNSW graph is built: values store, index and search share. */

export type BackendKind = 'hnsw' | 'pinecone';

export interface HnswSettings {
  readonly M: number;
  readonly efConstruction: number;
  readonly efSearch: number;
}

/** efSearch 128: recall@10 >= 0.95 on 100k x 512 embedding-like data (64 gave 0.87; measured in BENCHMARKS.md). */
export const DEFAULT_HNSW: HnswSettings = { M: 16, efConstruction: 200, efSearch: 128 };
