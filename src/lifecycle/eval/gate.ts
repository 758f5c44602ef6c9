/** The re-embedding quality gate: a candidate generation must not lose more than the evaluation set's margin of nDCG@10. */
import type { SearchMode } from '../../search/query.ts';
import { annRecall } from './ann.ts';
import { readEvalDataset, type EvalDataset } from './dataset.ts';
import type { EvalDeps } from './deps.ts';
import { getEvalSet } from './eval-set.ts';
import { evaluateCollection } from './run.ts';

export interface GateCheck {
  readonly ok: boolean;
  /** Dense nDCG@10 of the live generation (NaN when nothing was evaluated). */
  readonly live: number;
  /** Dense nDCG@10 of the candidate generation (NaN when nothing was evaluated). */
  readonly candidate: number;
  readonly margin: number;
  readonly reason: string;
  /** false when the collection has no evaluation set (the gate then passes). */
  readonly evaluated: boolean;
  /** nDCG@10 per mode checked: dense (the gate figure) and hybrid. */
  readonly modes?: { readonly [mode: string]: { readonly live: number; readonly candidate: number } };
}

const GATE_MODES: readonly SearchMode[] = ['dense', 'hybrid'];

function fmt(n: number): string {
  return n.toFixed(4);
}

/**
 * The re-embedding quality gate: evaluates the live and the candidate generation on the
 * collection's evaluation set and passes when the candidate's nDCG@10 is at least the live
 * one's minus the set's margin, in dense mode and in hybrid mode.
 *
 * Dense nDCG@10 is the headline figure: a re-embedding changes only the vectors, so dense mode
 * shows the model change undiluted (hybrid shares 1 - alpha of its score with BM25, which is
 * the same in both generations, and would hide most of a regression), and dense is the API's
 * default mode. Hybrid is checked too because that is what hybrid users would get.
 *
 * No evaluation set: passes with `evaluated: false`. An evaluation set that cannot be read
 * (folder moved) fails the gate: a swap should not go unchecked because a path broke.
 */
export async function compareForGate(deps: EvalDeps, collection: string, liveGeneration: number, candidateGeneration: number): Promise<GateCheck> {
  const set = getEvalSet(deps, collection);
  if (!set) return { ok: true, live: NaN, candidate: NaN, margin: 0, reason: 'no evaluation set registered', evaluated: false };
  let dataset: EvalDataset;
  try {
    dataset = readEvalDataset(set.dataset);
  } catch (err) {
    return { ok: false, live: NaN, candidate: NaN, margin: set.margin, reason: `evaluation set unreadable: ${(err as Error).message}`, evaluated: false };
  }
  const opts = { modes: GATE_MODES, annRecall: false, recall: false } as const;
  const live = await evaluateCollection(deps, collection, dataset, { ...opts, generation: liveGeneration });
  const candidate = await evaluateCollection(deps, collection, dataset, { ...opts, generation: candidateGeneration });
  const modes: Record<string, { live: number; candidate: number }> = {};
  const failures: string[] = [];
  const parts: string[] = [];
  for (const m of GATE_MODES) {
    const l = live.modes[m]!['ndcg@10'];
    const c = candidate.modes[m]!['ndcg@10'];
    modes[m] = { live: l, candidate: c };
    const delta = c - l;
    parts.push(`${m} nDCG@10 ${fmt(l)} -> ${fmt(c)} (${delta >= 0 ? '+' : ''}${fmt(delta)})`);
    if (c < l - set.margin) failures.push(m);
  }
  const where = `on ${dataset.name} (${dataset.queries.length} queries), generation ${liveGeneration} -> ${candidateGeneration}`;
  const reason =
    failures.length === 0
      ? `passed ${where}: ${parts.join('; ')}; margin ${set.margin}`
      : `${failures.join(' and ')} nDCG@10 fell by more than the margin ${set.margin} ${where}: ${parts.join('; ')}`;
  return { ok: failures.length === 0, live: modes.dense!.live, candidate: modes.dense!.candidate, margin: set.margin, reason, evaluated: true, modes };
}

/**
 * The gate as a re-embedding job hook: `undefined` (no opinion) when the collection has no
 * evaluation set, the check otherwise.
 */
export function evalSetGate(
  deps: EvalDeps,
): (collection: string, live: { readonly id: number }, candidate: { readonly id: number }) => Promise<GateCheck | undefined> {
  return async (collection, live, candidate) => {
    if (!getEvalSet(deps, collection)) return undefined;
    return compareForGate(deps, collection, live.id, candidate.id);
  };
}
