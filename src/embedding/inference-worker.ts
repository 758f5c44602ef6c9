/**
 * The inference worker: owns one ONNX Runtime session. onnxruntime-node's `run` executes
 * synchronously on the calling thread, so running it here keeps the server's event loop free
 * (HTTP parsing, vector searches, batching) while a batch computes. It answers with finished
 * sentence vectors (pooled, normalised), so that work stays off the event loop too.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { serveRpc } from '../util/worker-rpc.ts';
import type { FromWorker, InferenceResult, RunRequest, ToWorker, WorkerInit } from './inference-protocol.ts';
import { sentenceVectors } from './pooling.ts';
import { createSession } from './session.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (message: FromWorker) => port.postMessage(message);

try {
  const handle = await createSession(init.onnxPath, init.device, init.threads);
  const session = handle.session;
  let queue: Promise<unknown> = Promise.resolve();
  send({ type: 'ready', device: handle.device, fallbackReason: handle.fallbackReason, inputNames: session.inputNames });
  // One run at a time, in arrival order: the session's run is synchronous inside a setImmediate,
  // so a batch's time is measured from when the previous one finished. Each run's answer is
  // posted as it finishes, before the next run starts.
  serveRpc<RunRequest, InferenceResult>(
    port,
    (request) => {
      const run = queue.then(async (): Promise<InferenceResult> => {
        const feeds: Record<string, ort.Tensor> = {};
        for (const [name, data] of Object.entries(request.feeds)) feeds[name] = new ort.Tensor('int64', data, [...request.dims]);
        const started = performance.now();
        const result = (await session.run(feeds, [init.output]))[init.output]!;
        const { data, dim } = sentenceVectors(result.data as Float32Array, result.dims, request.lengths, init.pooling);
        return { data, dim, ms: performance.now() - started };
      });
      queue = run.catch(() => undefined);
      return run;
    },
    { transfer: (result) => [result.data.buffer as ArrayBuffer] },
  );
  port.on('message', (message: ToWorker) => {
    if (message.type !== 'close') return;
    void queue.then(() => session.release()).finally(() => {
      send({ type: 'closed' });
      port.close();
    });
  });
} catch (err) {
  send({ type: 'load-failed', message: (err as Error).message });
}
