/**
 * Messages between the drift scheduler (main thread, evaluator.ts) and the evaluation worker
 * (evaluation-worker.ts), as RPC calls (src/util/worker-rpc.ts). A reference's vectors and their
 * pairwise distances are the bulk of a request (a document reference: ~1 MB) and do not change
 * from one window to the next, so the worker keeps them by number: a request carries them only
 * the first time (`samples`), then only their number.
 */
import type { DriftConfig, DriftKind } from './config.ts';
import type { TokenTotals, WindowEvaluation, WindowItems } from './evaluate.ts';

/** A reference's unchanging bulk: what evaluateWindow reads besides its scores and token totals. */
export interface ReferenceSamples {
  readonly vectors: readonly Float32Array[];
  readonly mmdSample: readonly Float32Array[];
  readonly mmdSelfDistances: Float64Array;
}

export interface EvaluateRequest {
  /** Number of the reference's samples in the worker. */
  readonly samplesId: number;
  /** Sent when the worker may not hold `samplesId` yet. */
  readonly samples?: ReferenceSamples;
  readonly reference: { readonly kind: DriftKind; readonly generation: number; readonly top1: readonly number[]; readonly tokens: TokenTotals | undefined };
  readonly window: WindowItems;
  readonly kind: DriftKind;
  readonly config: DriftConfig;
  readonly seed: number;
}

export type EvaluateReply = WindowEvaluation;

/** The failure detail when the worker no longer holds the samples a request names: resend them. */
export const UNKNOWN_SAMPLES = 'unknown-samples';
export type EvaluateFailureDetail = typeof UNKNOWN_SAMPLES;
