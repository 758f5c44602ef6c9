// Tests src/lifecycle/training/jobs.ts: training jobs through runtime.lifecycle.trainJobs, with a tiny BERT and a synthetic collection.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../../../src/config.ts';
import { CollectionNotFoundError, ConflictError, InvalidInputError } from '../../../../src/errors.ts';
import type { TrainJobStatus } from '../../../../src/lifecycle/training/jobs.ts';
import { setLogLevel } from '../../../../src/log.ts';
import { ModelRegistry } from '../../../../src/models/registry.ts';
import { openRuntime, type Runtime } from '../../../../src/runtime.ts';
import { mulberry32 } from '../../../../src/util/random.ts';
import { importTinyBert, TINY_TOPICS } from '../../../helpers/tiny-models.ts';

const PARENT = 'tiny-a@1';

const TOPICS = TINY_TOPICS.slice(0, 8);
const FILLER = ['the', 'of', 'and', 'with', 'about', 'some', 'many', 'little', 'old', 'new', 'good', 'great'];

function corpus(count = 48): { id: string; title: string; text: string }[] {
  const r = mulberry32(5);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const words = TOPICS[i % TOPICS.length]!;
    const sentence = () => Array.from({ length: 6 + Math.floor(r() * 3) }, (_, j) => (j % 2 === 0 ? pick(words) : pick(FILLER))).join(' ') + ' .';
    return { id: `doc-${String(i).padStart(2, '0')}`, title: `${pick(words)} ${pick(FILLER)} ${pick(words)}`, text: [sentence(), sentence()].join(' ') };
  });
}

let root: string;
let modelsDir: string;
let config: Config;
let runtime: Runtime;
let n = 0;

beforeAll(async () => {
  setLogLevel('silent');
  root = await mkdtemp(join(tmpdir(), 'sextant-train-jobs-'));
  modelsDir = join(root, 'models');
  await importTinyBert(new ModelRegistry(modelsDir), { name: 'tiny-a', seed: 1 });
  config = loadConfig({ modelsDir, dataDir: join(root, 'data'), threads: 1 }, {});
  runtime = await openRuntime(config, { startJobs: false });
});
afterAll(async () => {
  await runtime?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function collection(rt: Runtime = runtime, docs = corpus()): Promise<string> {
  const name = `c${++n}`;
  await rt.service.createCollection({ name, model: PARENT });
  if (docs.length > 0) await rt.service.upsertDocuments(name, docs);
  return name;
}

const versionsOf = async (name: string) => (await readdir(join(modelsDir, `${name}-adapter`)).catch(() => [] as string[])).sort();

/** Polls (a timer tick between reads, no fixed wait) until `done` says so. */
async function until<T>(read: () => T, done: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
}
const ACTIVE = ['queued', 'running'];

describe('TrainJobRunner', () => {
  it('runs queued -> running -> succeeded with progress, result and the version written; refuses a second job meanwhile', async () => {
    const name = await collection();
    const jobs = runtime.lifecycle.trainJobs;
    const started = jobs.start(name, { epochs: 2 });
    expect(started).toMatchObject({ kind: 'train', collection: name, state: 'queued', model: PARENT, train: { params: { kind: 'adapter', epochs: 2, gate: 'dense', activate: false }, result: null } });
    expect(() => jobs.start(name, { epochs: 1 })).toThrow(ConflictError);
    const job = await jobs.settled(started.id);
    expect(job.state, job.error ?? '').toBe('succeeded');
    expect(job.model).toBe(`${name}-adapter@1`);
    expect(job.total).toBeGreaterThan(0);
    expect(job.done).toBe(job.total);
    const result = job.train.result!;
    expect(result).toMatchObject({ model: job.model, parent: PARENT, activationJob: null, gate: { mode: 'dense' } });
    expect(Object.keys(result.validation.before)).toEqual(['pseudo']);
    expect(typeof result.gate.passed).toBe('boolean');
    expect(await versionsOf(name)).toEqual(['1']);
    // The result is stored: read back from the store, not from memory.
    expect(runtime.service.context.store.getJob(started.id)?.result).toMatchObject({ model: job.model });
    expect(jobs.list(name).map((j) => j.id)).toEqual([started.id]);
    // Re-embedding's runner does not see training jobs.
    expect(runtime.lifecycle.jobs.list(name)).toEqual([]);
  });

  it('refuses bad options, unknown and empty collections before writing a job', async () => {
    const name = await collection();
    const empty = await collection(runtime, []);
    const jobs = runtime.lifecycle.trainJobs;
    const count = () => runtime.service.context.store.listJobs().length;
    const before = count();
    expect(() => jobs.start(name, { epochs: 0 })).toThrow(InvalidInputError);
    expect(() => jobs.start(name, { epochs: 101 })).toThrow(InvalidInputError);
    expect(() => jobs.start('nope', {})).toThrow(CollectionNotFoundError);
    expect(() => jobs.start(empty, {})).toThrow(InvalidInputError);
    expect(count()).toBe(before);
  });

  it('cancels a running job: cancelled, no version written', async () => {
    const name = await collection();
    const jobs = runtime.lifecycle.trainJobs;
    const started = jobs.start(name, { epochs: 100 });
    await until(() => jobs.get(started.id), (j) => j.done > 0 || !ACTIVE.includes(j.state));
    const cancelled = await jobs.cancel(started.id);
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.train.result).toBeNull();
    expect(await versionsOf(name)).toEqual([]);
    await expect(jobs.cancel(started.id)).rejects.toThrow(ConflictError);
  });

  it('a failed gate keeps the version unused: the job succeeds, gate.passed false, no activation', async () => {
    const name = await collection();
    const jobs = runtime.lifecycle.trainJobs;
    const job = await jobs.settled(jobs.start(name, { epochs: 1, margin: 1, activate: true }).id);
    expect(job.state, job.error ?? '').toBe('succeeded');
    expect(job.train.result?.gate.passed).toBe(false);
    expect(job.train.result?.gate.reason).toMatch(/gate failed/);
    expect(job.train.result?.activationJob).toBeNull();
    expect(runtime.lifecycle.jobs.list(name)).toEqual([]);
    expect(runtime.service.info(name).model).toBe(PARENT);
  });

  it('activate with a passed gate starts a re-embedding job that swaps the new version in', async () => {
    const name = await collection();
    const jobs = runtime.lifecycle.trainJobs;
    const job: TrainJobStatus = await jobs.settled(jobs.start(name, { epochs: 4, margin: 0, activate: true }).id);
    expect(job.state, job.error ?? '').toBe('succeeded');
    const result = job.train.result!;
    expect(result.gate.passed, result.gate.reason).toBe(true);
    expect(result.activationJob).not.toBeNull();
    const reembed = runtime.lifecycle.jobs.get(result.activationJob!);
    expect(reembed).toMatchObject({ kind: 'reembed', model: job.model, reason: 'training' });
    const finished = await until(() => runtime.lifecycle.jobs.get(reembed.id), (j) => !ACTIVE.includes(j.state));
    expect(finished.state, finished.error ?? '').toBe('succeeded');
    expect(finished.method).toBe('transform');
    expect(runtime.service.info(name).model).toBe(job.model);
  });
});

describe('TrainJobRunner after a crash', () => {
  it('trains a job found running at start again, from scratch', async () => {
    const dataDir = join(root, 'crash-data');
    const cfg = loadConfig({ modelsDir, dataDir, threads: 1 }, {});
    const first = await openRuntime(cfg);
    let id: string;
    let name: string;
    try {
      name = await collection(first);
      id = first.lifecycle.trainJobs.start(name, { epochs: 30 }).id;
      await until(() => first.lifecycle.trainJobs.get(id), (j) => j.done > 0 || !ACTIVE.includes(j.state));
    } finally {
      await first.close(); // mid-job: the row stays running, nothing is written
    }
    const second = await openRuntime(cfg, { startJobs: false });
    try {
      expect(second.lifecycle.trainJobs.get(id).state).toBe('running');
      expect(await versionsOf(name)).toEqual([]);
      second.lifecycle.start();
      const job = await until(() => second.lifecycle.trainJobs.get(id), (j) => !ACTIVE.includes(j.state));
      expect(job.state, job.error ?? '').toBe('succeeded');
      expect(job.model).toBe(`${name}-adapter@1`);
      expect(await versionsOf(name)).toEqual(['1']);
    } finally {
      await second.close();
    }
  });
});
