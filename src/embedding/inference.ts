/** The engine's handle on its inference worker: one session, requests answered in order. */
import { Worker } from 'node:worker_threads';
import { EngineClosedError, ModelLoadError } from '../errors.ts';
import type { FromWorker, ToWorker, WorkerInit } from './inference-protocol.ts';
import type { Device } from './session.ts';

export interface InferenceResult {
  readonly data: Float32Array;
  readonly dims: readonly number[];
  /** Time the session took to run, in the worker. */
  readonly ms: number;
}

interface Pending {
  resolve(result: InferenceResult): void;
  reject(err: Error): void;
}

export class InferenceWorker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly device: Device,
    readonly fallbackReason: string | undefined,
    readonly inputNames: readonly string[],
  ) {
    worker.on('message', (m: FromWorker) => {
      if (m.type !== 'result' && m.type !== 'run-failed') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.type === 'result') p?.resolve({ data: m.data, dims: m.dims, ms: m.ms });
      else p?.reject(new ModelLoadError(`inference failed: ${m.message}`));
    });
    const die = (err: Error) => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    };
    worker.on('error', (err) => die(new ModelLoadError(`inference worker crashed: ${err.message}`)));
    worker.on('exit', () => die(new EngineClosedError('the inference worker has stopped')));
  }

  static start(onnxPath: string, device: Device, threads: number, output: string): Promise<InferenceWorker> {
    const init: WorkerInit = { entry: new URL('./inference-worker.ts', import.meta.url).href, onnxPath, device, threads, output };
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

  run(feeds: Record<string, BigInt64Array>, dims: readonly [number, number]): Promise<InferenceResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const message: ToWorker = { type: 'run', id, feeds, dims };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(
        message,
        Object.values(feeds).map((f) => f.buffer as ArrayBuffer),
      );
    });
  }

  /** Releases the session, then stops the thread (terminate also covers a worker that hangs). */
  async close(): Promise<void> {
    if (!this.failure) {
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
