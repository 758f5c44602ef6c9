/**
 * What a training run (src/lifecycle/training/train.ts) reads and writes, handed over by the
 * composition root (src/runtime.ts): the collection, its live generation, documents, stored
 * vectors and BM25 (for hybrid validation), its feedback, the parent's engine, and the models
 * folder the new version is written to. Nothing here writes to the store.
 */
import type { EnginePool } from '../../embedding/pool.ts';
import type { CollectionsRepository, DocumentsRepository, FeedbackRepository, KeywordRepository } from '../../store/types.ts';

export interface TrainingDeps {
  readonly store: Pick<CollectionsRepository, 'getCollection' | 'getGeneration'> &
    Pick<DocumentsRepository, 'documentsAfter' | 'getDocuments' | 'iterateVectors' | 'countDocuments' | 'hasGroupableField'> &
    Pick<KeywordRepository, 'keywordSearch'> &
    Pick<FeedbackRepository, 'listFeedback'>;
  /** The parent's engine (query vectors) and its version (files, tokenizer, ONNX for static). */
  readonly engines: Pick<EnginePool, 'get' | 'resolve'>;
  /** Where trained versions are written (config.modelsDir). */
  readonly modelsDir: string;
  /** ORT intra-op threads of the training (config.threads); default: all cores. */
  readonly threads?: number;
}
