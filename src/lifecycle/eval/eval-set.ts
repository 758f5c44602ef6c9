/** The evaluation set registered per collection (a BEIR folder and a margin), kept in the collection's settings; the re-embedding gate reads it. */
import { InvalidInputError } from '../../errors.ts';
import { requireCollection, type CollectionsHolder } from '../../search/context.ts';
import { readEvalDataset } from './dataset.ts';
import type { EvalDeps } from './deps.ts';
import { missingJudgedDocuments } from './run.ts';

export interface EvalSet {
  /** Absolute path of the BEIR folder on the server. */
  readonly dataset: string;
  /** How much nDCG@10 a new generation may lose against the live one and still be swapped in. */
  readonly margin: number;
  readonly registered_at: string;
}

const EVAL_SET_KEY = 'evalSet';
export const DEFAULT_GATE_MARGIN = 0.01;

/** Reads only the collection's settings, so any holder of the collections repository can ask (training too). */
export function getEvalSet(deps: CollectionsHolder, collection: string): EvalSet | undefined {
  const value = requireCollection(deps, collection).settings[EVAL_SET_KEY] as Partial<EvalSet> | undefined;
  if (!value || typeof value.dataset !== 'string' || typeof value.margin !== 'number') return undefined;
  return { dataset: value.dataset, margin: value.margin, registered_at: value.registered_at ?? '' };
}

/**
 * Registers `dataset` as the collection's evaluation set (other settings are kept). The folder
 * is read and checked against the collection now, so a gate never meets a set that never worked.
 */
export function registerEvalSet(deps: EvalDeps, collection: string, dataset: string, margin = DEFAULT_GATE_MARGIN): EvalSet {
  if (typeof margin !== 'number' || !(margin >= 0 && margin <= 1)) throw new InvalidInputError(`margin must be between 0 and 1, got ${margin}`);
  const row = requireCollection(deps, collection);
  const read = readEvalDataset(dataset);
  missingJudgedDocuments(deps, row.name, read);
  const set: EvalSet = { dataset: read.dir, margin, registered_at: new Date().toISOString() };
  const current = requireCollection(deps, collection);
  deps.store.updateCollection(collection, { settings: { ...current.settings, [EVAL_SET_KEY]: set } });
  return set;
}

/** Removes the collection's evaluation set; false when it had none. */
export function clearEvalSet(deps: EvalDeps, collection: string): boolean {
  const current = requireCollection(deps, collection);
  if (!(EVAL_SET_KEY in current.settings)) return false;
  const { [EVAL_SET_KEY]: _removed, ...rest } = current.settings;
  deps.store.updateCollection(collection, { settings: rest });
  return true;
}
