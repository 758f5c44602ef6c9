/**
 * The inference worker: owns one ONNX Runtime session. onnxruntime-node's `run` executes
 * synchronously on the calling thread, so running it here keeps the server's event loop free
 * (HTTP parsing, vector searches, batching) while a batch computes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { FromWorker, ToWorker, WorkerInit } from './inference-protocol.ts';
import { createSession } from './session.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

try {
  const handle = await createSession(init.onnxPath, init.device, init.threads);
  const session = handle.session;
  let queue = Promise.resolve();
  send({ type: 'ready', device: handle.device, fallbackReason: handle.fallbackReason, inputNames: session.inputNames });
  port.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      void queue.then(() => session.release()).finally(() => {
        send({ type: 'closed' });
        port.close();
      });
      return;
    }
    // One run at a time, in arrival order: the session's run is synchronous inside a setImmediate,
    // so a batch's time is measured from when the previous one finished.
    queue = queue.then(async () => {
      try {
        const feeds: Record<string, ort.Tensor> = {};
        for (const [name, data] of Object.entries(message.feeds)) feeds[name] = new ort.Tensor('int64', data, [...message.dims]);
        const started = performance.now();
        const result = (await session.run(feeds, [init.output]))[init.output]!;
        const ms = performance.now() - started;
        const data = result.data as Float32Array;
        send({ type: 'result', id: message.id, data, dims: result.dims, ms }, [data.buffer as ArrayBuffer]);
      } catch (err) {
        send({ type: 'run-failed', id: message.id, message: (err as Error).message });
      }
    });
  });
} catch (err) {
  send({ type: 'load-failed', message: (err as Error).message });
}
