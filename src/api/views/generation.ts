/** An index generation as `GET /v1/collections/{name}/generations` shows it. */
import type { Lineage } from '../../models/manifest.ts';
import type { GenerationRow } from '../../store/types.ts';

/** `lineage`: the generation's model version's, when it was trained; null otherwise (or when the version cannot be read). */
export function generationView(g: GenerationRow, lineage: Lineage | null) {
  return {
    id: g.id,
    model: g.model,
    state: g.state,
    dimensions: g.dimensions,
    backend: g.backend,
    created_at: g.createdAt,
    retired_at: g.retiredAt,
    lineage,
  };
}
