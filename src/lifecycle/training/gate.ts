/**
 * The training gate: whether a freshly trained version is better than its parent on the
 * collection's held-out data. A version is written either way (a failed one stays in the
 * registry, unused); the gate says whether it may be used, and why, with the numbers.
 *
 * Rules, all on nDCG@10 of the chosen mode (dense or hybrid):
 *   1. Primary: the held-out pseudo-queries must improve by at least `margin`. They are always
 *      there (a tenth of the documents' queries), many, and drawn like the training data, so they
 *      measure what training optimised; held-out feedback is usually far too small for a margin
 *      (the research note saw ~15 feedback queries overfit and swing by several points).
 *   2. Held-out feedback (when >= 10 items, a third held out) must not be worse by more than
 *      NOT_WORSE_TOLERANCE: real user judgements veto a model that learned the pseudo-queries'
 *      quirks.
 *   3. The registered evaluation set (when there is one) must not be worse by more than
 *      NOT_WORSE_TOLERANCE either. Deliberately stricter than the re-embedding swap gate (which
 *      allows the set's registered margin, 0.01 by default): a trained version exists only to
 *      improve, so it may not trade human-judged quality for pseudo-query gains.
 *   4. With a fairness check asked for (fairness.ts), no group of documents may move further
 *      from exposure parity than the margin allows.
 */
import type { Figures, FigureSet } from './validation.ts';

/**
 * Default improvement on held-out pseudo-queries a version needs (nDCG@10, absolute). The research
 * note's adapters gained 0.02-0.04 dense on Cranfield and CISI; 0.005 keeps a real gain and
 * rejects noise-level changes (one query of 200 moving a few ranks).
 */
export const DEFAULT_TRAINING_MARGIN = 0.005;

/** How much the guards (feedback, evaluation set) may lose: float noise, nothing more. */
export const NOT_WORSE_TOLERANCE = 1e-3;

export type GateMode = 'dense' | 'hybrid';

export interface GateOutcome {
  readonly passed: boolean;
  readonly reason: string;
}

const LABELS: Record<FigureSet, string> = { pseudo: 'held-out pseudo-queries', feedback: 'held-out feedback', eval_set: 'evaluation set' };

const f3 = (x: number) => x.toFixed(4);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;

export function trainingGate(
  before: Figures,
  after: Figures,
  options: {
    mode: GateMode;
    margin: number;
    pseudoQueries: number;
    evalSetQueries?: number;
    feedbackQueries?: number;
    /** The fairness check's outcome (fairness.ts), when one was asked for. */
    fairness?: { readonly passed: boolean; readonly text: string };
  },
): GateOutcome {
  const { mode, margin } = options;
  const line = (set: FigureSet, queries: number | undefined) => {
    const b = before[set]![mode]['ndcg@10'];
    const a = after[set]![mode]['ndcg@10'];
    return { b, a, delta: a - b, text: `${LABELS[set]} (${queries ?? 0} queries) ${mode} nDCG@10 ${f3(b)} -> ${f3(a)} (${signed(a - b)})` };
  };
  const failures: string[] = [];
  const passes: string[] = [];
  if (options.pseudoQueries === 0) {
    failures.push('no held-out pseudo-queries to validate on (too few documents: a tenth of them, rounded, is held out)');
  } else {
    const p = line('pseudo', options.pseudoQueries);
    (p.delta >= margin - 1e-12 ? passes : failures).push(`${p.text} ${p.delta >= margin - 1e-12 ? '>=' : '<'} margin ${margin}`);
  }
  for (const set of ['feedback', 'eval_set'] as const) {
    if (!before[set] || !after[set]) continue;
    const g = line(set, set === 'feedback' ? options.feedbackQueries : options.evalSetQueries);
    const ok = g.delta >= -NOT_WORSE_TOLERANCE;
    (ok ? passes : failures).push(`${g.text} ${ok ? 'not worse' : `worse by more than ${NOT_WORSE_TOLERANCE}`}`);
  }
  if (options.fairness) (options.fairness.passed ? passes : failures).push(options.fairness.text);
  if (failures.length > 0) return { passed: false, reason: `gate failed: ${failures.join('; ')}${passes.length > 0 ? `; (ok: ${passes.join('; ')})` : ''}` };
  return { passed: true, reason: `gate passed: ${passes.join('; ')}` };
}
