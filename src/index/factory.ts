/** Opens the vector index of one collection generation on the backend the generation records. */
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { HnswIndex } from './hnsw/index.ts';
import { PineconeIndex } from './pinecone/index.ts';
import { pineconeOptionsFromConfig } from './pinecone/options.ts';
import type { BackendKind, HnswSettings } from '../values/backend.ts';
import type { VectorIndex } from './types.ts';

export interface GenerationRef {
  readonly collection: string;
  readonly id: number;
  readonly dimensions: number;
  readonly backend: BackendKind;
}

/** Folder of a generation's local index: `<dataDir>/<collection>/<generation>/`. */
export function generationDir(dataDir: string, collection: string, generation: number): string {
  return join(dataDir, collection, String(generation));
}

/** Pinecone namespace of a generation: one per collection generation. */
export function pineconeNamespace(collection: string, generation: number): string {
  return `${collection}.g${generation}`;
}

export interface IndexHooks {
  /** A local index's snapshot is durable through this change seq. */
  readonly onSnapshot?: (appliedSeq: number) => void;
}

export async function openIndex(config: Config, generation: GenerationRef, hnsw: HnswSettings, hooks: IndexHooks = {}): Promise<VectorIndex> {
  if (generation.backend === 'hnsw') {
    return HnswIndex.open(generationDir(config.dataDir, generation.collection, generation.id), {
      dimensions: generation.dimensions,
      settings: hnsw,
      snapshotEveryChanges: config.snapshotChanges,
      snapshotEverySeconds: config.snapshotSeconds,
      onSnapshot: hooks.onSnapshot,
    });
  }
  return PineconeIndex.open(pineconeOptionsFromConfig(config, pineconeNamespace(generation.collection, generation.id), generation.dimensions));
}
