// src/training/client.ts (with src/training/worker.ts): trainAdapter on a worker thread, with progress and cancellation.
import { afterAll, describe, expect, it } from 'vitest';
import { EngineClosedError, InvalidInputError } from '../../../src/errors.ts';
import { trainAdapter, type AdapterProgress } from '../../../src/training/adapter.ts';
import { TrainingWorker } from '../../../src/training/client.ts';
import { TrainingCancelledError } from '../../../src/training/errors.ts';
import { problem } from '../../helpers/training-synthetic.ts';

const p = problem('nuisance');
const settings = { epochs: 3, batchSize: 64, lr: 1e-2, seed: 5 } as const;
const worker = TrainingWorker.start({ threads: 1 });
afterAll(() => worker.close());

describe('TrainingWorker', () => {
  it('trains in the worker: the same W as in this thread, progress for every step', async () => {
    const seen: AdapterProgress[] = [];
    const remote = await worker.trainAdapter({ ...p.train, documents: p.documents, validation: p.validation, ...settings, onProgress: (x) => seen.push(x) });
    const local = await trainAdapter({ ...p.train, documents: p.documents, validation: p.validation, ...settings, threads: 1 });
    expect(Buffer.from(remote.W.buffer).equals(Buffer.from(local.W.buffer))).toBe(true);
    expect(remote.history).toEqual(local.history);
    expect(seen.map((x) => x.step)).toEqual(Array.from({ length: remote.steps }, (_, i) => i + 1));
    expect(remote.history.at(-1)!.validationMrrAfter!).toBeGreaterThan(remote.history[0]!.validationMrrBefore!);
  });

  it('cancels a running job through its AbortSignal, and then runs the next one', async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    const job = worker.trainAdapter({
      ...p.train,
      documents: p.documents,
      ...settings,
      epochs: 50,
      signal: controller.signal,
      onProgress: (x) => {
        steps.push(x.step);
        controller.abort();
      },
    });
    await expect(job).rejects.toBeInstanceOf(TrainingCancelledError);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.length).toBeLessThan(500);
    const next = await worker.trainAdapter({ ...p.train, documents: p.documents, ...settings, epochs: 1 });
    expect(next.steps).toBe(10);
  });

  it('rejects an already-aborted signal without starting', async () => {
    await expect(worker.trainAdapter({ ...p.train, documents: p.documents, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(TrainingCancelledError);
  });

  it('reports invalid input as InvalidInputError', async () => {
    await expect(worker.trainAdapter({ queries: p.train.queries, positives: [1, 2], documents: p.documents })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('refuses work once closed', async () => {
    const other = TrainingWorker.start({ threads: 1 });
    await other.close();
    await expect(other.trainAdapter({ ...p.train, documents: p.documents })).rejects.toBeInstanceOf(EngineClosedError);
  });
});
