/**
 * evaluateWindow in the drift evaluation worker (evaluation-worker.ts): one worker per process,
 * started with the first evaluation, keeping the process alive only while one is outstanding.
 * Each reference's samples cross to the worker once (identified by their distance matrix, which
 * every copy of a prepared reference shares). A worker that crashed is replaced on the next call.
 */
import { Worker } from 'node:worker_threads';
import { RpcClient } from '../../util/worker-rpc.ts';
import type { DriftConfig, DriftKind } from './config.ts';
import type { PreparedReference, WindowEvaluation, WindowItems } from './evaluate.ts';
import { UNKNOWN_SAMPLES, type EvaluateFailureDetail, type EvaluateReply, type EvaluateRequest } from './evaluation-protocol.ts';

class UnknownSamplesError extends Error {}

class EvaluationHost {
  readonly rpc: RpcClient<EvaluateRequest, EvaluateReply, EvaluateFailureDetail>;
  /** Samples this worker was sent, by their distance matrix. */
  readonly sent = new WeakMap<Float64Array, number>();
  private nextId = 1;

  constructor() {
    const entry = new URL('./evaluation-worker.ts', import.meta.url).href;
    const worker = new Worker(new URL('../../util/worker-boot.mjs', import.meta.url), { workerData: { entry } });
    this.rpc = new RpcClient(worker, {
      remoteError: (message, detail) => (detail === UNKNOWN_SAMPLES ? new UnknownSamplesError(message) : new Error(message)),
      crashError: (err) => new Error(`drift evaluation worker crashed: ${err.message}`),
      exitError: (code) => new Error(`drift evaluation worker exited with code ${code}`),
      refWhileBusy: true,
      onFailure: () => {
        if (host === this) host = undefined;
      },
    });
  }

  async evaluate(reference: PreparedReference, window: WindowItems, kind: DriftKind, config: DriftConfig, seed: number): Promise<WindowEvaluation> {
    const { vectors, mmdSample, mmdSelfDistances, kind: refKind, generation, top1, tokens } = reference;
    const request = (withSamples: boolean, samplesId: number): EvaluateRequest => ({
      samplesId,
      ...(withSamples ? { samples: { vectors, mmdSample, mmdSelfDistances } } : {}),
      reference: { kind: refKind, generation, top1, tokens },
      window,
      kind,
      config,
      seed,
    });
    const known = this.sent.get(mmdSelfDistances);
    if (known !== undefined) {
      try {
        return await this.rpc.call(request(false, known));
      } catch (err) {
        if (!(err instanceof UnknownSamplesError)) throw err;
      }
    }
    const id = known ?? this.nextId++;
    this.sent.set(mmdSelfDistances, id);
    return this.rpc.call(request(true, id));
  }
}

let host: EvaluationHost | undefined;

/** evaluateWindow's result, computed in the drift evaluation worker. */
export function evaluateWindowOffThread(reference: PreparedReference, window: WindowItems, kind: DriftKind, config: DriftConfig, seed: number): Promise<WindowEvaluation> {
  host ??= new EvaluationHost();
  return host.evaluate(reference, window, kind, config, seed);
}
