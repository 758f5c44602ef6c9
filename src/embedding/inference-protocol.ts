/** Messages between the engine (main thread) and its inference worker. */
import type { Device } from './session.ts';

export interface WorkerInit {
  readonly entry: string;
  readonly onnxPath: string;
  readonly device: Device;
  readonly threads: number;
  readonly output: string;
}

export type ToWorker =
  | {
      readonly type: 'run';
      readonly id: number;
      readonly feeds: Readonly<Record<string, BigInt64Array>>;
      readonly dims: readonly [number, number];
    }
  | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'ready'; readonly device: Device; readonly fallbackReason?: string; readonly inputNames: readonly string[] }
  | { readonly type: 'load-failed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly data: Float32Array; readonly dims: readonly number[]; readonly ms: number }
  | { readonly type: 'run-failed'; readonly id: number; readonly message: string }
  | { readonly type: 'closed' };
