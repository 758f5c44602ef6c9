/** A collection as the API shows it (`GET /v1/collections/{name}` and every route that returns one). */
import type { CollectionSummary } from '../../search/service.ts';

export function collectionView(c: CollectionSummary) {
  return {
    name: c.name,
    document_count: c.documentCount,
    model: c.model,
    // `active` and `model_target` repeat `model` and `target` for clients of the first API version.
    active: c.model,
    target: c.target,
    model_target: c.target,
    dimensions: c.dimensions,
    backend: c.backend,
    generation: c.generation,
    hnsw: c.hnsw,
    hybrid_alpha: c.hybridAlpha,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  };
}
