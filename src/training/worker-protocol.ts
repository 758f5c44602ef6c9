/**
 * Messages between a TrainingWorker (src/training/client.ts) and its thread
 * (src/training/worker.ts). Jobs travel as RPC calls (src/util/worker-rpc.ts), vectors packed
 * row-major into one transferable Float32Array per matrix; progress and cancellation travel
 * outside the RPC, tagged with the job's number.
 */
import type { AdapterEpoch, AdapterProgress, AdapterSettings } from './adapter.ts';

export type { AdapterSettings };

export interface WorkerInit {
  readonly entry: string;
  /** ORT intra-op threads for every session of this worker (undefined: all cores). */
  readonly threads?: number;
}

export interface PackedQueries {
  /** [positives.length, dimensions], row-major. */
  readonly queries: Float32Array;
  readonly positives: readonly number[];
}

export interface AdapterJob extends PackedQueries {
  readonly kind: 'adapter';
  readonly job: number;
  readonly dimensions: number;
  /** [documents, dimensions], row-major. */
  readonly documents: Float32Array;
  readonly validation?: PackedQueries;
  readonly settings: AdapterSettings;
}

export type TrainRequest = AdapterJob;

export interface AdapterJobResult {
  readonly dimensions: number;
  readonly W: Float32Array;
  readonly history: AdapterEpoch[];
  readonly steps: number;
  readonly candidates: 'full' | 'sampled';
}

export type TrainResponse = AdapterJobResult;

/** Why a job failed, beyond its message: lets the client rethrow the same error class. */
export type FailureKind = 'cancelled' | 'invalid_input';

export type ToWorker = { readonly type: 'cancel'; readonly job: number } | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'progress'; readonly job: number; readonly progress: AdapterProgress }
  | { readonly type: 'closed' };
