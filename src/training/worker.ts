/**
 * The training thread: runs training jobs one at a time, off the thread that serves requests.
 * ORT's session.run computes synchronously on its calling thread, so a training step in the
 * main thread would stall HTTP for its whole duration (~10-40 ms per Cranfield step, seconds
 * per run); here the main thread only sees progress messages. The sessions (src/training/
 * sessions.ts) live as long as the worker, so a second job of the same shape builds none.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidInputError } from '../errors.ts';
import { serveRpc } from '../util/worker-rpc.ts';
import { trainAdapter, type LabelledQueries } from './adapter.ts';
import { TrainingCancelledError } from './errors.ts';
import { SessionCache } from './sessions.ts';
import type { FailureKind, FromWorker, PackedQueries, ToWorker, TrainRequest, TrainResponse, WorkerInit } from './worker-protocol.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (message: FromWorker) => port.postMessage(message);
const sessions = new SessionCache(init.threads !== undefined ? { threads: init.threads } : {});
const controllers = new Map<number, AbortController>();
let queue: Promise<unknown> = Promise.resolve();

/** Row views into the packed matrix (no copy). */
function unpack(p: PackedQueries, d: number): LabelledQueries {
  return { queries: rows(p.queries, d), positives: p.positives };
}

function rows(packed: Float32Array, d: number): Float32Array[] {
  if (d <= 0 || packed.length % d !== 0) throw new InvalidInputError(`a packed matrix of ${packed.length} values is not a multiple of ${d} dimensions`);
  return Array.from({ length: packed.length / d }, (_, i) => packed.subarray(i * d, (i + 1) * d));
}

async function run(request: TrainRequest, signal: AbortSignal): Promise<TrainResponse> {
  const d = request.dimensions;
  const result = await trainAdapter({
    ...request.settings,
    ...unpack(request, d),
    documents: rows(request.documents, d),
    ...(request.validation ? { validation: unpack(request.validation, d) } : {}),
    sessions,
    signal,
    onProgress: (progress) => send({ type: 'progress', job: request.job, progress }),
  });
  return { dimensions: result.dimensions, W: result.W, history: result.history, steps: result.steps, candidates: result.candidates };
}

serveRpc<TrainRequest, TrainResponse, FailureKind>(
  port,
  (request) => {
    const controller = new AbortController();
    controllers.set(request.job, controller);
    const job = queue.then(() => run(request, controller.signal)).finally(() => controllers.delete(request.job));
    queue = job.catch(() => undefined);
    return job;
  },
  {
    transfer: (result) => [result.W.buffer as ArrayBuffer],
    errorDetail: (err) => (err instanceof TrainingCancelledError ? 'cancelled' : err instanceof InvalidInputError ? 'invalid_input' : undefined),
  },
);

port.on('message', (message: ToWorker) => {
  if (message.type === 'cancel') controllers.get(message.job)?.abort();
  else if (message.type === 'close') {
    for (const c of controllers.values()) c.abort();
    void queue
      .then(() => sessions.release())
      .finally(() => {
        send({ type: 'closed' });
        port.close();
      });
  }
});
