/** Two generations (or models) of a collection evaluated side by side: which generation a reference names, and the second run. */
import { InvalidInputError } from '../../errors.ts';
import { requireCollection, requireGeneration } from '../../search/context.ts';
import type { CollectionRow, GenerationRow, GenerationState } from '../../store/types.ts';
import { readEvalDataset, type EvalDataset } from './dataset.ts';
import type { EvalDeps } from './deps.ts';
import { evaluateCollection, type EvalOptions, type EvalReport } from './run.ts';

const STATE_PREFERENCE: Record<GenerationState, number> = { live: 0, building: 1, retired: 2 };

/**
 * The generation `ref` names: a generation id of the collection, or a model (name@version or
 * alias) that one of its generations uses — the live one first, then one being built, then the
 * newest retired one.
 */
export async function resolveGenerationRef(deps: EvalDeps, collection: CollectionRow, ref: string | number): Promise<GenerationRow> {
  if (typeof ref === 'number' || /^\d+$/.test(ref.trim())) return requireGeneration(deps, collection, Number(ref));
  const generations = deps.store.listGenerations(collection.name);
  let matching = generations.filter((g) => g.model === ref.trim());
  if (matching.length === 0) {
    const version = await deps.engines.resolve(ref.trim()).catch(() => undefined);
    if (version) matching = generations.filter((g) => g.model === version.id);
  }
  if (matching.length === 0) {
    const have = generations.map((g) => `${g.id} (${g.model}, ${g.state})`).join(', ');
    throw new InvalidInputError(`collection '${collection.name}' has no generation for '${ref}'; its generations: ${have}`);
  }
  matching.sort((a, b) => STATE_PREFERENCE[a.state] - STATE_PREFERENCE[b.state] || b.id - a.id);
  return matching[0]!;
}

/** `evaluateCollection`, plus the same evaluation of a second generation when `compare` names one. */
export async function evaluateWithCompare(
  deps: EvalDeps,
  collection: string,
  datasetDir: string | EvalDataset,
  opts: EvalOptions & { readonly compare?: string | number } = {},
): Promise<EvalReport> {
  const row = requireCollection(deps, collection);
  const dataset = typeof datasetDir === 'string' ? readEvalDataset(datasetDir) : datasetDir;
  const other = opts.compare === undefined ? undefined : await resolveGenerationRef(deps, row, opts.compare);
  const result = await evaluateCollection(deps, collection, dataset, opts);
  if (!other) return result;
  if (other.id === result.generation) throw new InvalidInputError(`--compare names generation ${other.id}, the one being evaluated`);
  const compared = await evaluateCollection(deps, collection, dataset, { ...opts, generation: other.id });
  return { ...result, compare: { generation: other.id, model: other.model, result: compared } };
}
