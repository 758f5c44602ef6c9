/**
 * What drift detection needs, handed over by the composition root (src/runtime.ts): the search
 * events it watches, the few store operations it reads and writes (collections, stored vectors
 * for document references, its own references and history), and the engines and indexes it
 * embeds and scores supplied reference queries with.
 */
import type { EnginePool } from '../../embedding/pool.ts';
import type { SearchEvents } from '../../search/events.ts';
import type { GenerationIndexes } from '../../search/generations.ts';
import type { CollectionsRepository, DocumentsRepository, DriftRepository } from '../../store/types.ts';

export type DriftStore = Pick<CollectionsRepository, 'getCollection' | 'getGeneration'> &
  Pick<DocumentsRepository, 'countVectors' | 'vectorIds' | 'getVectors'> &
  DriftRepository;

export interface DriftDeps {
  readonly events: Pick<SearchEvents, 'onQuery' | 'onDocuments'>;
  readonly store: DriftStore;
  readonly engines: Pick<EnginePool, 'get'>;
  readonly indexes: Pick<GenerationIndexes, 'get'>;
}
