/**
 * What evaluation, tuning and the quality gate need, handed over by the composition root
 * (src/runtime.ts). Every figure is measured through the search service with the request a
 * client makes; the store and indexes are read for exact (brute-force) neighbours and ANN
 * recall; the evaluation set and tuned settings are written to the collection's settings.
 */
import type { EnginePool } from '../../embedding/pool.ts';
import type { GenerationIndexes } from '../../search/generations.ts';
import type { SearchService } from '../../search/service.ts';
import type { CollectionsRepository, DocumentsRepository } from '../../store/types.ts';

export interface EvalDeps {
  readonly search: Pick<SearchService, 'search'>;
  readonly engines: Pick<EnginePool, 'get' | 'resolve'>;
  readonly store: Pick<CollectionsRepository, 'getCollection' | 'getGeneration' | 'listGenerations' | 'updateCollection'> &
    Pick<DocumentsRepository, 'getDocuments' | 'getVectors' | 'iterateVectors'>;
  readonly indexes: Pick<GenerationIndexes, 'get'>;
}
