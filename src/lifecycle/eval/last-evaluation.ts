/**
 * An evaluation run for a client (POST /v1/collections/{name}/eval, `sextant eval`), and the
 * collection's last one, kept in its settings so it can be shown later
 * (GET /v1/collections/{name}/eval): the report exactly as it was answered, with when it ran.
 */
import { requireCollection, type CollectionsHolder } from '../../search/context.ts';
import { evaluateWithCompare } from './compare.ts';
import type { EvalDeps } from './deps.ts';
import { DEFAULT_GATE_MARGIN, registerEvalSet, type EvalSet } from './eval-set.ts';
import type { EvalOptions, EvalReport } from './run.ts';

const LAST_EVALUATION_KEY = 'lastEvaluation';

/** What an evaluation answers: the report, and with `register` the evaluation set now registered. */
export type EvaluationOutcome = EvalReport & { readonly eval_set?: EvalSet };

/** The stored last evaluation: the outcome as answered, and when it finished (ISO 8601). */
export type LastEvaluation = EvaluationOutcome & { readonly evaluated_at: string };

export interface EvaluateOptions extends EvalOptions {
  /** A second generation id, or a model one of the collection's generations uses, evaluated beside it. */
  readonly compare?: string | number;
  /** Also register the dataset as the collection's evaluation set (the re-embedding gate). */
  readonly register?: boolean;
  /** With register: the gate's margin (default DEFAULT_GATE_MARGIN). */
  readonly margin?: number;
}

/**
 * Evaluates the collection on `dataset` (with `compare`, a second generation beside it), registers
 * the dataset as its evaluation set when asked, and records the outcome as its last evaluation.
 * Nothing is recorded when any step fails.
 */
export async function evaluateAndRecord(deps: EvalDeps, collection: string, dataset: string, options: EvaluateOptions = {}): Promise<EvaluationOutcome> {
  const { register, margin, ...evalOptions } = options;
  const report = await evaluateWithCompare(deps, collection, dataset, evalOptions);
  const outcome: EvaluationOutcome = register ? { ...report, eval_set: registerEvalSet(deps, collection, dataset, margin ?? DEFAULT_GATE_MARGIN) } : report;
  recordEvaluation(deps, collection, outcome);
  return outcome;
}

/** Stores `outcome` as the collection's last evaluation (other settings are kept); returns what was stored. */
export function recordEvaluation(deps: EvalDeps, collection: string, outcome: EvaluationOutcome): LastEvaluation {
  const stored: LastEvaluation = { ...outcome, evaluated_at: new Date().toISOString() };
  const current = requireCollection(deps, collection);
  deps.store.updateCollection(collection, { settings: { ...current.settings, [LAST_EVALUATION_KEY]: stored } });
  return stored;
}

/** The collection's last evaluation; undefined when it has none. */
export function getLastEvaluation(deps: CollectionsHolder, collection: string): LastEvaluation | undefined {
  const value = requireCollection(deps, collection).settings[LAST_EVALUATION_KEY] as LastEvaluation | undefined;
  if (!value || typeof value !== 'object' || typeof value.evaluated_at !== 'string') return undefined;
  return value;
}
