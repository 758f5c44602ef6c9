/**
 * Messages between the engine (main thread) and its inference worker. The worker first reports
 * `ready` (or `load-failed`); runs then travel as RPC calls (src/util/worker-rpc.ts): a
 * RunRequest is answered with an InferenceResult (finished sentence vectors), or a failure carrying ONNX Runtime's message.
 * `close` asks the worker to release the session and report `closed`.
 */
import type { PoolingSpec } from './pooling.ts';
import type { Device } from './session.ts';

export interface WorkerInit {
  readonly entry: string;
  readonly onnxPath: string;
  readonly device: Device;
  readonly threads: number;
  readonly output: string;
  /** How the output becomes sentence vectors (done in the worker, beside the session). */
  readonly pooling: PoolingSpec;
}

export interface RunRequest {
  readonly feeds: Readonly<Record<string, BigInt64Array>>;
  readonly dims: readonly [number, number];
  /** Real tokens per row (rows are padded on the right). */
  readonly lengths: Int32Array;
}

export interface InferenceResult {
  /** Sentence vectors, pooled and normalised: [batch, dim] row-major. */
  readonly data: Float32Array;
  readonly dim: number;
  /** Time the session took to run, in the worker. */
  readonly ms: number;
}

/** Sent outside the RPC calls (which carry RunRequests). */
export type ToWorker = { readonly type: 'close' };

/** Sent outside the RPC calls (which carry InferenceResults). */
export type FromWorker =
  | { readonly type: 'ready'; readonly device: Device; readonly fallbackReason?: string; readonly inputNames: readonly string[] }
  | { readonly type: 'load-failed'; readonly message: string }
  | { readonly type: 'closed' };
