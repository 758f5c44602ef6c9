/**
 * The arithmetic of a fairness audit, pure and deterministic (the runner, run.ts, feeds it what
 * the search service answered):
 *
 * - exposure of a hit at rank r (1-based) is 1 / log2(r + 1), the position discount of nDCG;
 * - per query, the exposure of each group of documents (documents sharing a metadata value) is
 *   the sum over its hits in the top-k, normalised over the grouped hits so that the shares sum
 *   to 1 (hits without a group keep their rank but form no group);
 * - per query with relevance judgements, each group's share of the relevance (grades summed over
 *   the judged documents that have a group, normalised the same way);
 * - aggregated as the mean over queries; disparity is exposure share ÷ collection share and
 *   exposure share ÷ relevance share (Singh & Joachims 2018, "Fairness of Exposure in Rankings":
 *   exposure proportional to merit), 1 meaning parity;
 * - a bootstrap over queries (resampled with replacement, seeded) gives a 95% percentile
 *   interval for each ratio: how sure the figure is, given these documents, over queries drawn
 *   like these;
 * - a permutation test over documents (the group labels shuffled among the grouped documents,
 *   seeded) gives the spread of exposure ÷ collection that a grouping unrelated to exposure would
 *   show with the same group sizes, and a two-sided p-value: whether the disparity is more than
 *   which documents happened to fall in the group (one document reached by many queries moves a
 *   small group's share a lot; the bootstrap over queries does not see that).
 */
import { mulberry32 } from '../../util/random.ts';

/** A metadata value as a group: strings, finite numbers and booleans; anything else forms no group. */
export type GroupValue = string | number | boolean;

/** A group's share per query: group index -> share (only non-zero entries). */
export type SparseShares = ReadonlyMap<number, number>;

/** Exposure of the hit at `rank` (1-based): 1 / log2(rank + 1). */
export function exposureAt(rank: number): number {
  return 1 / Math.log2(rank + 1);
}

/** The value a document's metadata field contributes as a group, or undefined (no group). */
export function groupValueOf(value: unknown): GroupValue | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return undefined;
}

/** A key that keeps 1 and "1" apart. */
export function groupKey(value: GroupValue): string {
  return `${typeof value}:${String(value)}`;
}

/** Shares normalised to sum to 1; undefined when the weights sum to 0 (nothing to share). */
function normalise(weights: Map<number, number>): SparseShares | undefined {
  let total = 0;
  for (const w of weights.values()) total += w;
  if (!(total > 0)) return undefined;
  const out = new Map<number, number>();
  for (const [g, w] of weights) if (w > 0) out.set(g, w / total);
  return out;
}

/**
 * One query's exposure shares from its ranked hits, each given as its group index (undefined:
 * the hit has no group). Undefined when no hit has a group.
 */
export function queryExposureShares(rankedGroups: readonly (number | undefined)[]): SparseShares | undefined {
  const weights = new Map<number, number>();
  rankedGroups.forEach((g, i) => {
    if (g === undefined) return;
    weights.set(g, (weights.get(g) ?? 0) + exposureAt(i + 1));
  });
  return normalise(weights);
}

/**
 * One query's relevance shares: grades summed per group over the judged documents that have a
 * group (`groupOf` undefined: no group, or not in the collection). Undefined when none has.
 */
export function queryRelevanceShares(relevant: ReadonlyMap<string, number>, groupOf: (id: string) => number | undefined): SparseShares | undefined {
  const weights = new Map<number, number>();
  for (const [id, grade] of relevant) {
    const g = groupOf(id);
    if (g === undefined || !(grade > 0)) continue;
    weights.set(g, (weights.get(g) ?? 0) + grade);
  }
  return normalise(weights);
}

/** The largest |sum of shares - 1| over the queries (0 when they all sum to 1 exactly). */
export function maxShareSumDeviation(perQuery: readonly SparseShares[]): number {
  let worst = 0;
  for (const shares of perQuery) {
    let sum = 0;
    for (const s of shares.values()) sum += s;
    worst = Math.max(worst, Math.abs(sum - 1));
  }
  return worst;
}

/** Mean share per group over the queries (a group absent from a query counts 0 there). */
export function meanShares(perQuery: readonly SparseShares[], groups: number): number[] {
  const sums = new Array<number>(groups).fill(0);
  for (const shares of perQuery) for (const [g, s] of shares) sums[g]! += s;
  return sums.map((s) => (perQuery.length === 0 ? 0 : s / perQuery.length));
}

/** Linear-interpolated quantile (q in [0, 1]) of an ascending list; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface Ratio {
  readonly value: number;
  /** 95% bootstrap percentile interval. */
  readonly ci: readonly [number, number];
}

export interface GroupFigures {
  readonly documents: number;
  readonly collection_share: number;
  readonly exposure_share: number;
  /** null without relevance judgements. */
  readonly relevance_share: number | null;
  readonly exposure_over_collection: Ratio;
  /** null without relevance judgements, or when the group holds none of the relevance. */
  readonly exposure_over_relevance: Ratio | null;
}

export interface AuditInput {
  /** Documents per group (index = group index), every one > 0. */
  readonly documents: readonly number[];
  /** One entry per audited query: its exposure shares. */
  readonly exposure: readonly SparseShares[];
  /**
   * Without judgements: undefined. With: one entry per audited query (same order as `exposure`),
   * undefined for a query none of whose judged documents has a group.
   */
  readonly relevance?: readonly (SparseShares | undefined)[];
  /** Bootstrap resamples (at least 1). */
  readonly resamples: number;
  readonly seed: number;
  /** Interval coverage (default 0.95). */
  readonly confidence?: number;
}

/**
 * Shares and disparities per group, with bootstrap intervals over queries. Each resample draws
 * as many queries as were audited, with replacement, and recomputes the mean exposure shares
 * (and the mean relevance shares over the drawn queries that have them); a ratio whose
 * denominator is 0 in a resample is left out of that ratio's distribution.
 */
export function auditFigures(input: AuditInput): GroupFigures[] {
  const { documents, exposure, relevance } = input;
  const groups = documents.length;
  const q = exposure.length;
  if (relevance && relevance.length !== q) throw new Error('relevance must have one entry per audited query');
  const totalDocs = documents.reduce((a, b) => a + b, 0);
  const collectionShare = documents.map((d) => d / totalDocs);
  const exposureShare = meanShares(exposure, groups);
  const judged = relevance?.filter((r): r is SparseShares => r !== undefined);
  const relevanceShare = judged && judged.length > 0 ? meanShares(judged, groups) : undefined;

  const alpha = (1 - (input.confidence ?? 0.95)) / 2;
  const overCollection: number[][] = Array.from({ length: groups }, () => []);
  const overRelevance: number[][] = Array.from({ length: groups }, () => []);
  const next = mulberry32(input.seed);
  const exp = new Float64Array(groups);
  const rel = new Float64Array(groups);
  for (let b = 0; b < input.resamples && q > 0; b++) {
    exp.fill(0);
    rel.fill(0);
    let relCount = 0;
    for (let i = 0; i < q; i++) {
      const j = Math.floor(next() * q);
      for (const [g, s] of exposure[j]!) exp[g]! += s;
      const r = relevance?.[j];
      if (r) {
        relCount++;
        for (const [g, s] of r) rel[g]! += s;
      }
    }
    for (let g = 0; g < groups; g++) {
      const e = exp[g]! / q;
      overCollection[g]!.push(e / collectionShare[g]!);
      if (relCount > 0 && rel[g]! > 0) overRelevance[g]!.push(e / (rel[g]! / relCount));
    }
  }
  const interval = (samples: number[], point: number): readonly [number, number] => {
    if (samples.length === 0) return [point, point];
    samples.sort((a, b) => a - b);
    return [quantile(samples, alpha), quantile(samples, 1 - alpha)];
  };

  return documents.map((d, g) => {
    const e = exposureShare[g]!;
    const rShare = relevanceShare?.[g];
    const poc = e / collectionShare[g]!;
    return {
      documents: d,
      collection_share: collectionShare[g]!,
      exposure_share: e,
      relevance_share: relevance ? (rShare ?? 0) : null,
      exposure_over_collection: { value: poc, ci: interval(overCollection[g]!, poc) },
      exposure_over_relevance: rShare !== undefined && rShare > 0 ? { value: e / rShare, ci: interval(overRelevance[g]!, e / rShare) } : null,
    };
  });
}

/** One query's grouped hits: the document (index into the permutation's labels) and its exposure. */
export interface GroupedHit {
  readonly doc: number;
  readonly exposure: number;
}

export interface PermutationInput {
  /** Group of each grouped document (index = document index). */
  readonly labels: readonly number[];
  /** Per audited query, its grouped hits (every query has at least one). */
  readonly hits: readonly (readonly GroupedHit[])[];
  readonly resamples: number;
  readonly seed: number;
  readonly confidence?: number;
}

export interface PermutationFigures {
  /** Interval of exposure ÷ collection under random relabelling (same group sizes). */
  readonly null_ci: readonly [number, number];
  /** Share of relabellings at least as far from 1 as the observed ratio (two-sided, with the +1 correction). */
  readonly p_value: number;
}

/**
 * Permutation test of exposure ÷ collection per group. Each resample relabels the documents that
 * the queries reached with a uniform draw without replacement from all grouped documents' labels
 * (a partial Fisher–Yates shuffle: O(distinct hits) per resample, whatever the collection size),
 * and recomputes the mean exposure shares.
 */
export function permutationFigures(input: PermutationInput): PermutationFigures[] {
  const { hits } = input;
  const labels = Int32Array.from(input.labels);
  const n = labels.length;
  const groups = labels.reduce((m, g) => Math.max(m, g + 1), 0);
  const sizes = new Array<number>(groups).fill(0);
  for (const g of labels) sizes[g]!++;
  // The documents the queries reached, renumbered 0..h-1.
  const local = new Map<number, number>();
  const hitsLocal = hits.map((q) => q.map((h) => {
    let i = local.get(h.doc);
    if (i === undefined) local.set(h.doc, (i = local.size));
    return { doc: i, exposure: h.exposure };
  }));
  const reached = [...local.keys()];
  const ratios = (labelOf: (i: number) => number): number[] => {
    const sums = new Float64Array(groups);
    const per = new Float64Array(groups);
    for (const q of hitsLocal) {
      per.fill(0);
      let total = 0;
      for (const h of q) {
        per[labelOf(h.doc)]! += h.exposure;
        total += h.exposure;
      }
      for (let g = 0; g < groups; g++) sums[g]! += per[g]! / total;
    }
    return Array.from(sums, (s, g) => s / hitsLocal.length / (sizes[g]! / n));
  };
  const observed = ratios((i) => labels[reached[i]!]!);
  const samples: number[][] = Array.from({ length: groups }, () => []);
  const beyond = new Array<number>(groups).fill(0);
  const next = mulberry32(input.seed);
  const drawn = new Int32Array(reached.length);
  for (let b = 0; b < input.resamples && hitsLocal.length > 0; b++) {
    for (let i = 0; i < reached.length; i++) {
      const j = i + Math.floor(next() * (n - i));
      const t = labels[i]!;
      labels[i] = labels[j]!;
      labels[j] = t;
      drawn[i] = labels[i]!;
    }
    const r = ratios((i) => drawn[i]!);
    for (let g = 0; g < groups; g++) {
      samples[g]!.push(r[g]!);
      if (Math.abs(r[g]! - 1) >= Math.abs(observed[g]! - 1) - 1e-12) beyond[g]!++;
    }
  }
  const alpha = (1 - (input.confidence ?? 0.95)) / 2;
  return samples.map((s, g) => {
    s.sort((a, b) => a - b);
    return {
      null_ci: s.length === 0 ? [1, 1] : [quantile(s, alpha), quantile(s, 1 - alpha)],
      p_value: (beyond[g]! + 1) / (s.length + 1),
    };
  });
}
