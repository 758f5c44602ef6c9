/** Opens the vector index of one collection generation on the backend the generation records. */
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { HnswIndex } from './hnsw.ts';
import { PineconeIndex } from './pinecone.ts';
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

export async function openIndex(config: Config, generation: GenerationRef, hnsw: HnswSettings): Promise<VectorIndex> {
  if (generation.backend === 'hnsw') {
    return HnswIndex.open(generationDir(config.dataDir, generation.collection, generation.id), {
      dimensions: generation.dimensions,
      settings: hnsw,
      snapshotEveryChanges: config.snapshotChanges,
      snapshotEverySeconds: config.snapshotSeconds,
    });
  }
  if (!config.pineconeApiKey || (!config.pineconeIndexHost && !config.pineconeIndex)) {
    throw new ConfigError('the pinecone backend needs PINECONE_API_KEY and PINECONE_INDEX_HOST or PINECONE_INDEX');
  }
  return PineconeIndex.open({
    apiKey: config.pineconeApiKey,
    indexHost: config.pineconeIndexHost,
    indexName: config.pineconeIndex,
    controllerHost: config.pineconeControllerHost,
    namespace: pineconeNamespace(generation.collection, generation.id),
    dimensions: generation.dimensions,
  });
}
