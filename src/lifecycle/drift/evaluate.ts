/**
 * One window against its reference (pure), and the per-kind state machine that turns alert
 * windows into `ok | warning | drifted` only when the signal persists.
 */
import type { DriftConfig, DriftKind } from './config.ts';
import { psiBinsFor } from './config.ts';
import { mulberry32 } from '../../util/random.ts';
import { centroidCosineDistance, mmdPermutationTest, psi, rate, sampleIndices, selfSquaredDistances } from './stats.ts';

export type DriftState = 'ok' | 'warning' | 'drifted';
const RANK: Record<DriftState, number> = { ok: 0, warning: 1, drifted: 2 };

export function stateValue(state: DriftState): number {
  return RANK[state];
}

export function worstState(states: readonly DriftState[]): DriftState {
  return states.reduce<DriftState>((w, s) => (RANK[s] > RANK[w] ? s : w), 'ok');
}

/** Token statistics summed over texts. */
export interface TokenTotals {
  readonly texts: number;
  readonly tokens: number;
  readonly unknown: number;
  readonly truncated: number;
}

export const NO_TOKENS: TokenTotals = { texts: 0, tokens: 0, unknown: 0, truncated: 0 };

export function addTokens(a: TokenTotals, b: TokenTotals): TokenTotals {
  return { texts: a.texts + b.texts, tokens: a.tokens + b.tokens, unknown: a.unknown + b.unknown, truncated: a.truncated + b.truncated };
}

export interface Reference {
  readonly kind: DriftKind;
  readonly generation: number;
  readonly vectors: readonly Float32Array[];
  /** Top-1 dense scores of the reference queries (queries only; may be empty). */
  readonly top1: readonly number[];
  /** Token statistics of the reference texts; undefined until known (then calibrated from the first window). */
  readonly tokens: TokenTotals | undefined;
}

/** A reference with what every window evaluation reuses: the MMD subsample and its pairwise distances. */
export interface PreparedReference extends Reference {
  readonly mmdSample: readonly Float32Array[];
  readonly mmdSelfDistances: Float64Array;
}

export function prepareReference(reference: Reference, maxPerSide: number, seed = 7): PreparedReference {
  const sample =
    reference.vectors.length > maxPerSide
      ? sampleIndices(reference.vectors.length, maxPerSide, mulberry32(seed)).map((i) => reference.vectors[i]!)
      : reference.vectors;
  return { ...reference, mmdSample: sample, mmdSelfDistances: selfSquaredDistances(sample) };
}

export interface WindowItems {
  readonly vectors: readonly Float32Array[];
  /** Top-1 dense scores (queries; may be shorter than vectors when an index was empty). */
  readonly top1: readonly number[];
  readonly tokens: TokenTotals;
}

export type MetricName = 'centroid_distance' | 'mmd2' | 'mmd_p_value' | 'score_psi' | 'unknown_token_rate' | 'truncation_rate';

export interface MetricValue {
  readonly name: MetricName;
  readonly value: number | null;
  /** What the value is compared with (p-value: below; others: above); null when not compared. */
  readonly threshold: number | null;
  readonly exceeded: boolean;
}

export interface WindowEvaluation {
  readonly alert: boolean;
  /** Human-readable reasons for an alert (empty when clean). */
  readonly reasons: string[];
  readonly metrics: MetricValue[];
  /** Milliseconds the statistics took. */
  readonly ms: number;
  /** MMD bandwidth used (median pooled distance). */
  readonly bandwidth: number;
}

const PSI_EPSILON = 0.01;

function round(x: number, digits = 6): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Evaluates a window. It alerts when
 * - the embeddings moved: MMD p-value < alpha AND centroid distance > the kind's threshold, or
 * - the top-1 score PSI exceeds its threshold (queries with reference scores), or
 * - the unknown-token or truncation rate exceeds the reference's by more than its delta.
 */
export function evaluateWindow(reference: PreparedReference, window: WindowItems, kind: DriftKind, config: DriftConfig, seed: number): WindowEvaluation {
  const started = performance.now();
  const kc = kind === 'queries' ? config.queries : config.documents;
  const metrics: MetricValue[] = [];
  const reasons: string[] = [];

  const centroid = centroidCosineDistance(window.vectors, reference.vectors);
  const mmd = mmdPermutationTest(window.vectors, reference.mmdSample, {
    permutations: config.permutations,
    seed,
    maxPerSide: config.maxPerSide,
    ySquaredDistances: reference.mmdSelfDistances,
  });
  const significant = config.permutations > 0 ? mmd.pValue < config.alpha : true;
  const far = centroid > kc.centroidDistance;
  metrics.push({ name: 'centroid_distance', value: round(centroid), threshold: kc.centroidDistance, exceeded: far });
  metrics.push({ name: 'mmd2', value: round(mmd.mmd2), threshold: null, exceeded: false });
  metrics.push({ name: 'mmd_p_value', value: round(mmd.pValue), threshold: config.alpha, exceeded: significant });
  if (far && significant) reasons.push(`embeddings moved: centroid distance ${centroid.toFixed(3)} > ${kc.centroidDistance}, MMD p ${mmd.pValue.toFixed(3)} < ${config.alpha}`);

  if (kind === 'queries') {
    const canPsi = reference.top1.length >= 10 && window.top1.length >= 5;
    const value = canPsi ? psi(reference.top1, window.top1, psiBinsFor(config.queries), PSI_EPSILON) : null;
    const exceeded = value !== null && value > config.queries.psi;
    metrics.push({ name: 'score_psi', value: value === null ? null : round(value), threshold: config.queries.psi, exceeded });
    if (exceeded) reasons.push(`top-1 score distribution shifted: PSI ${value.toFixed(3)} > ${config.queries.psi}`);
  }

  const ref = reference.tokens;
  const w = window.tokens;
  const unknown = w.tokens > 0 ? rate(w.unknown, w.tokens) : null;
  const truncated = w.texts > 0 ? rate(w.truncated, w.texts) : null;
  const unknownThreshold = ref && ref.tokens > 0 ? rate(ref.unknown, ref.tokens) + kc.unknownRateDelta : null;
  const truncThreshold = ref && ref.texts > 0 ? rate(ref.truncated, ref.texts) + kc.truncationRateDelta : null;
  const unknownExceeded = unknown !== null && unknownThreshold !== null && unknown > unknownThreshold;
  const truncExceeded = truncated !== null && truncThreshold !== null && truncated > truncThreshold;
  metrics.push({ name: 'unknown_token_rate', value: unknown === null ? null : round(unknown), threshold: unknownThreshold === null ? null : round(unknownThreshold), exceeded: unknownExceeded });
  metrics.push({ name: 'truncation_rate', value: truncated === null ? null : round(truncated), threshold: truncThreshold === null ? null : round(truncThreshold), exceeded: truncExceeded });
  if (unknownExceeded) reasons.push(`unknown-token rate ${unknown.toFixed(4)} > ${unknownThreshold.toFixed(4)}`);
  if (truncExceeded) reasons.push(`truncation rate ${truncated.toFixed(3)} > ${truncThreshold.toFixed(3)}`);

  return { alert: reasons.length > 0, reasons, metrics, ms: round(performance.now() - started, 2), bandwidth: round(mmd.bandwidth) };
}

/**
 * ok → warning on an alert window; drifted after `persist` consecutive alert windows; back to
 * ok after `recover` consecutive clean windows (a clean window in warning/drifted keeps it).
 */
export class DriftStateMachine {
  constructor(
    public state: DriftState = 'ok',
    /** Consecutive alert windows so far. */
    public alerts = 0,
    /** Consecutive clean windows so far. */
    public cleans = 0,
  ) {}

  step(alert: boolean, persist: number, recover: number): DriftState {
    if (alert) {
      this.alerts += 1;
      this.cleans = 0;
      if (this.alerts >= persist) this.state = 'drifted';
      else if (this.state === 'ok') this.state = 'warning';
    } else {
      this.cleans += 1;
      this.alerts = 0;
      if (this.cleans >= recover) this.state = 'ok';
    }
    return this.state;
  }

  reset(): void {
    this.state = 'ok';
    this.alerts = 0;
    this.cleans = 0;
  }
}
