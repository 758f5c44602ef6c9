/** The engine's handle on its inference worker: one session, requests answered in order. */
import { Worker } from 'node:worker_threads';
import { EngineClosedError, ModelLoadError } from '../errors.ts';
import { RpcClient } from '../util/worker-rpc.ts';
import type { FromWorker, InferenceResult, RunRequest, ToWorker, WorkerInit } from './inference-protocol.ts';
import type { PoolingSpec } from './pooling.ts';
import type { Device } from './session.ts';

export type { InferenceResult } from './inference-protocol.ts';

export class InferenceWorker {
  private readonly rpc: RpcClient<RunRequest, InferenceResult>;

  private constructor(
    private readonly worker: Worker,
    readonly device: Device,
    readonly fallbackReason: string | undefined,
    readonly inputNames: readonly string[],
  ) {
    this.rpc = new RpcClient(worker, {
      remoteError: (message) => new ModelLoadError(`inference failed: ${message}`),
      crashError: (err) => new ModelLoadError(`inference worker crashed: ${err.message}`),
      exitError: () => new EngineClosedError('the inference worker has stopped'),
    });
  }

  static start(onnxPath: string, device: Device, threads: number, output: string, pooling: PoolingSpec): Promise<InferenceWorker> {
    const init: WorkerInit = { entry: new URL('./inference-worker.ts', import.meta.url).href, onnxPath, device, threads, output, pooling };
    const worker = new Worker(new URL('../util/worker-boot.mjs', import.meta.url), { workerData: init });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new ModelLoadError(`inference worker exited with code ${code} while loading ${onnxPath}`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (m: FromWorker) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (m.type === 'ready') resolve(new InferenceWorker(worker, m.device, m.fallbackReason, m.inputNames));
        else {
          void worker.terminate();
          reject(new ModelLoadError(m.type === 'load-failed' ? m.message : `unexpected message from inference worker: ${m.type}`));
        }
      });
    });
  }

  run(feeds: Record<string, BigInt64Array>, dims: readonly [number, number], lengths: Int32Array): Promise<InferenceResult> {
    return this.rpc.call({ feeds, dims, lengths }, [...Object.values(feeds).map((f) => f.buffer as ArrayBuffer), lengths.buffer as ArrayBuffer]);
  }

  /** Releases the session, then stops the thread (terminate also covers a worker that hangs). */
  async close(): Promise<void> {
    if (!this.rpc.failure) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        this.worker.on('message', (m: FromWorker) => {
          if (m.type === 'closed') {
            clearTimeout(timer);
            resolve();
          }
        });
        this.worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        this.worker.postMessage({ type: 'close' } satisfies ToWorker);
      });
    }
    await this.worker.terminate();
  }
}
