/**
 * TrainingWorker: the main thread's handle on a training thread (src/training/worker.ts). Jobs
 * run one at a time in submission order; each reports progress and can be cancelled through its
 * AbortSignal (the running step finishes, then the job rejects with TrainingCancelledError).
 */
import { Worker } from 'node:worker_threads';
import { EngineClosedError, InvalidInputError } from '../errors.ts';
import { RpcClient } from '../util/worker-rpc.ts';
import { packRows, type AdapterProgress, type AdapterTrainingOptions, type AdapterTrainingResult } from './adapter.ts';
import { TrainingCancelledError } from './errors.ts';
import type { AdapterSettings, FailureKind, FromWorker, ToWorker, TrainRequest, TrainResponse, WorkerInit } from './worker-protocol.ts';

export interface TrainingWorkerOptions {
  /** ORT intra-op threads in the worker (default: all cores). */
  readonly threads?: number;
}

export type WorkerAdapterOptions = Omit<AdapterTrainingOptions, 'sessions' | 'threads'>;

const SETTINGS = ['epochs', 'batchSize', 'lr', 'temperature', 'l2', 'seed', 'sides', 'rank', 'fullSoftmaxLimit', 'hardNegatives', 'randomNegatives'] as const;

export class TrainingWorker {
  private readonly rpc: RpcClient<TrainRequest, TrainResponse, FailureKind>;
  private readonly progress = new Map<number, (p: AdapterProgress) => void>();
  private nextJob = 1;
  private closed = false;

  private constructor(private readonly worker: Worker) {
    this.rpc = new RpcClient(worker, {
      remoteError: (message, kind) =>
        kind === 'cancelled' ? new TrainingCancelledError(message) : kind === 'invalid_input' ? new InvalidInputError(message) : new Error(`training failed: ${message}`),
      crashError: (err) => new Error(`training worker crashed: ${err.message}`),
      exitError: () => new EngineClosedError('the training worker has stopped'),
      // An idle training worker must not keep a process (a CLI, a test) alive.
      refWhileBusy: true,
    });
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'progress') this.progress.get(m.job)?.(m.progress);
    });
  }

  static start(options: TrainingWorkerOptions = {}): TrainingWorker {
    const init: WorkerInit = { entry: new URL('./worker.ts', import.meta.url).href, ...(options.threads !== undefined ? { threads: options.threads } : {}) };
    return new TrainingWorker(new Worker(new URL('../util/worker-boot.mjs', import.meta.url), { workerData: init }));
  }

  /** trainAdapter in the worker; vectors are copied into transferable buffers first. */
  async trainAdapter(options: WorkerAdapterOptions): Promise<AdapterTrainingResult> {
    if (this.closed) throw new EngineClosedError('the training worker is closed');
    if (options.signal?.aborted) throw new TrainingCancelledError();
    const d = options.documents[0]?.length ?? 0;
    if (d === 0) throw new InvalidInputError('trainAdapter needs at least one non-empty document vector');
    const job = this.nextJob++;
    const settings: Record<string, unknown> = {};
    for (const key of SETTINGS) if (options[key] !== undefined) settings[key] = options[key];
    const queries = packRows(options.queries, d);
    const documents = packRows(options.documents, d);
    const validation = options.validation ? { queries: packRows(options.validation.queries, d), positives: [...options.validation.positives] } : undefined;
    const request: TrainRequest = {
      kind: 'adapter',
      job,
      dimensions: d,
      queries,
      positives: [...options.positives],
      documents,
      ...(validation ? { validation } : {}),
      settings: settings as AdapterSettings,
    };
    const onAbort = () => this.worker.postMessage({ type: 'cancel', job } satisfies ToWorker);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.onProgress) this.progress.set(job, options.onProgress);
    try {
      const transfer = [queries.buffer, documents.buffer, ...(validation ? [validation.queries.buffer] : [])] as ArrayBuffer[];
      return await this.rpc.call(request, transfer);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.progress.delete(job);
    }
  }

  /** Cancels what runs, waits for the worker to release its sessions, then stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.rpc.failure) {
      this.worker.ref();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        this.worker.on('message', (m: FromWorker) => m.type === 'closed' && done());
        this.worker.once('exit', done);
        this.worker.postMessage({ type: 'close' } satisfies ToWorker);
      });
    }
    await this.worker.terminate();
  }
}
