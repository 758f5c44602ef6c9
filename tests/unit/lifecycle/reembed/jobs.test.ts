// Tests src/lifecycle/reembed/jobs.ts: the re-embedding JobRunner over its narrow deps (ReembedDeps), with two tiny generated BERTs.
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, type Config } from '../../../../src/config.ts';
import type { EmbeddingEngine } from '../../../../src/embedding/engine.ts';
import { EnginePool } from '../../../../src/embedding/pool.ts';
import { CollectionNotFoundError, ConflictError, JobNotFoundError, ModelNotFoundError } from '../../../../src/errors.ts';
import * as responses from '../../../../src/api/responses.ts';
import { jobView } from '../../../../src/api/views/job.ts';
import { JobRunner, type JobHooks, type JobStatus, type ReembedDeps } from '../../../../src/lifecycle/reembed/jobs.ts';
import { setLogLevel } from '../../../../src/log.ts';
import { ModelRegistry, type ModelVersion } from '../../../../src/models/registry.ts';
import { writeAdapterModel } from '../../../../src/models/trained/adapter.ts';
import type { TrainedLineageInput } from '../../../../src/models/trained/publish.ts';
import { mulberry32 } from '../../../../src/util/random.ts';
import { openRuntime } from '../../../../src/runtime.ts';
import { contentHash } from '../../../../src/search/documents.ts';
import { SearchService } from '../../../../src/search/service.ts';
import type { GenerationRow, JobRow, JobsRepository, Store } from '../../../../src/store/types.ts';
import { importTinyBert } from '../../../helpers/tiny-models.ts';
import { maxAbsDiff } from '../../../helpers/vectors.ts';

/** The live model (32-d) and the model the jobs move to (48-d, other weights). */
const A = 'tiny-a@1';
const B = 'tiny-b@1';
/** A version whose ONNX file no longer matches its manifest (engine load fails verification). */
const BROKEN = 'tiny-broken@1';
const COL = 'c';
const BATCH = 8;

const WORDS = 'wing flutter boundary layer shock wave heat transfer laminar flow pressure nozzle panel plate velocity river mountain music'.split(' ');
/** 30 short documents doc-00 .. doc-29 (ids sort in number order), every text different. */
const DOCS = Array.from({ length: 30 }, (_, i) => ({
  id: `doc-${String(i).padStart(2, '0')}`,
  text: `note ${i} about ${WORDS[i % WORDS.length]} and ${WORDS[(i * 7 + 3) % WORDS.length]}`,
}));
const ACTIVE = ['queued', 'running'];

/**
 * One engine pool for the file (loading an engine costs more than a whole job here): the services
 * and runtimes of the tests share it, and only afterAll closes it.
 */
class SharedEnginePool extends EnginePool {
  override async close(): Promise<void> {}
  closeEngines(): Promise<void> {
    return super.close();
  }
}

let root: string;
let modelsDir: string;
let engines: SharedEnginePool;

beforeAll(async () => {
  setLogLevel('silent');
  root = await mkdtemp(join(tmpdir(), 'sextant-reembed-unit-'));
  modelsDir = join(root, 'models');
  const registry = new ModelRegistry(modelsDir);
  await importTinyBert(registry, { name: 'tiny-a', seed: 1 });
  await importTinyBert(registry, { name: 'tiny-b', seed: 2, config: { hiddenSize: 48, intermediateSize: 96 } });
  const broken = await importTinyBert(registry, { name: 'tiny-broken', seed: 3 });
  await appendFile(join(broken.dir, 'onnx', 'model.onnx'), Buffer.from([0]));
  engines = new SharedEnginePool(registry, configFor(root));
});
afterAll(async () => {
  await engines?.closeEngines();
  if (root) await rm(root, { recursive: true, force: true });
});

/** A data directory per test, removed after it. */
const dataDirs: string[] = [];
afterEach(async () => {
  for (const dir of dataDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(join(root, 'data-'));
  dataDirs.push(dir);
  return dir;
}

function configFor(dataDir: string, overrides: { retentionSeconds?: number } = {}): Config {
  return loadConfig({ modelsDir, dataDir, threads: 1, reembedBatch: BATCH, reembedDuty: 1, ...overrides }, {});
}

interface Harness {
  readonly config: Config;
  readonly service: SearchService;
  readonly store: Store;
  readonly runner: JobRunner;
  /** Every job row the runner stored after a batch (an update with a cursor), in order. */
  readonly batches: JobRow[];
  /** Generations made live, as onSwap reported them. */
  readonly swaps: GenerationRow[];
  /** Called with each job row stored after a batch. */
  afterBatch?: (job: JobRow) => void;
  /** Called after the job's n-th embedding call (1-based) computed its vectors, before the job gets them. */
  afterEmbed?: (call: number, texts: readonly string[]) => Promise<void>;
  close(): Promise<void>;
}

/**
 * A search service over `dataDir` and a JobRunner built on it the way src/runtime.ts builds one,
 * with the jobs repository and the engine the job embeds with wrapped to observe (not change) them.
 */
async function openHarness(dataDir: string, options: { hooks?: JobHooks; retentionSeconds?: number } = {}): Promise<Harness> {
  const config = configFor(dataDir, options);
  const service = await SearchService.open(config, engines);
  const ctx = service.context;
  const store = ctx.store;
  let embedCalls = 0;
  const wrap = (engine: EmbeddingEngine): EmbeddingEngine =>
    new Proxy(engine, {
      get(target, prop) {
        if (prop !== 'embed') return Reflect.get(target, prop, target);
        return async (texts: readonly string[], kind?: 'query' | 'document') => {
          const out = await target.embed(texts, kind);
          await h.afterEmbed?.(++embedCalls, texts);
          return out;
        };
      },
    });
  const jobs: JobsRepository = {
    createJob: (job) => store.createJob(job),
    getJob: (id) => store.getJob(id),
    listJobs: (collection) => store.listJobs(collection),
    updateJob: (id, patch) => {
      const row = store.updateJob(id, patch);
      if (patch.cursor !== undefined) {
        h.batches.push(row);
        h.afterBatch?.(row);
      }
      return row;
    },
  };
  const deps: ReembedDeps = {
    collections: store,
    documents: store,
    jobs,
    engines: { get: async (ref) => wrap(await ctx.engines.get(ref)), resolve: (ref) => ctx.engines.resolve(ref), loaded: () => ctx.engines.loaded() },
    indexes: ctx.indexes,
    writes: ctx.writes,
  };
  const swaps: GenerationRow[] = [];
  const hooks: JobHooks = {
    ...options.hooks,
    onSwap: (collection, generation) => {
      swaps.push(generation);
      options.hooks?.onSwap?.(collection, generation);
    },
  };
  const runner = new JobRunner(deps, config, hooks);
  const h: Harness = {
    config,
    service,
    store,
    runner,
    batches: [],
    swaps,
    async close() {
      await runner.close();
      await service.close();
    },
  };
  return h;
}

const opened: Harness[] = [];
afterEach(async () => {
  for (const h of opened.splice(0).reverse()) await h.close();
});
async function harness(options: { hooks?: JobHooks; retentionSeconds?: number; dataDir?: string } = {}): Promise<Harness> {
  const h = await openHarness(options.dataDir ?? (await newDataDir()), options);
  opened.push(h);
  return h;
}

/** Creates COL on model A holding DOCS; returns its live generation. */
async function seed(h: Harness): Promise<number> {
  await h.service.createCollection({ name: COL, model: A });
  expect(await h.service.upsertDocuments(COL, DOCS)).toEqual({ upserted: DOCS.length, unchanged: 0 });
  return h.service.info(COL).generation;
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function waitForJob(runner: Pick<JobRunner, 'get'>, id: string): Promise<JobStatus> {
  return waitFor(`job ${id} to finish`, () => {
    const job = runner.get(id);
    return !ACTIVE.includes(job.state) && job;
  });
}

/**
 * The generation holds exactly `docs`, each with the vector `model` computes for its text (the
 * model's own engine is the oracle), and its index holds as many vectors.
 */
async function expectGenerationHolds(h: Harness, generation: number, model: string, docs: readonly { id: string; text: string }[]): Promise<void> {
  expect(h.store.countVectors(generation)).toBe(docs.length);
  const engine = await h.service.engines.get(model);
  const expected = (await engine.embed(docs.map((d) => d.text), 'document')).vectors;
  const stored = h.store.getVectors(generation, docs.map((d) => d.id));
  docs.forEach((d, i) => {
    const vector = stored.get(d.id);
    expect(vector, d.id).toBeDefined();
    expect(vector!.length).toBe(engine.dimensions);
    expect(maxAbsDiff(vector!, expected[i]!), d.id).toBeLessThan(1e-4);
  });
  const index = await h.service.context.indexes.get(h.store.getCollection(COL)!, h.store.getGeneration(generation)!);
  expect(await index.count()).toBe(docs.length);
}

/** The top dense hit for a document's own text is that document, from the expected generation and model. */
async function expectFinds(h: Harness, doc: { id: string; text: string }, generation: number, model: string): Promise<void> {
  const res = await h.service.search(COL, { mode: 'dense', query: doc.text, k: 3 });
  expect(res.generation).toBe(generation);
  expect(res.model).toBe(model);
  expect(res.results[0]!.id).toBe(doc.id);
}

describe('re-embedding jobs', () => {
  it("re-embeds every document with the collection's target into a new generation and swaps it in", async () => {
    const h = await harness();
    const oldGeneration = await seed(h);
    await h.service.updateCollection(COL, { target: B });

    const queued = await h.runner.start(COL);
    expect(queued).toMatchObject({ collection: COL, model: B, state: 'queued', reason: 'manual', done: 0, total: DOCS.length, generation: null, error: null });
    const job = await waitForJob(h.runner, queued.id);

    expect(job.state).toBe('succeeded');
    expect(job.error).toBeNull();
    expect(job.previousGeneration).toBe(oldGeneration);
    expect(job.generation).not.toBe(oldGeneration);
    expect(job.done).toBe(DOCS.length);
    expect(job.total).toBe(DOCS.length);
    expect(job.cursor).toBe('doc-29');
    expect(job.startedAt).not.toBeNull();
    expect(job.finishedAt).not.toBeNull();
    expect(job.docsPerSecond).toBeNull(); // not running any more
    expect(job.etaSeconds).toBeNull();
    // 30 documents in id order, 8 per batch.
    expect(h.batches.map((b) => [b.done, b.cursor])).toEqual([
      [8, 'doc-07'],
      [16, 'doc-15'],
      [24, 'doc-23'],
      [30, 'doc-29'],
    ]);

    const generation = job.generation!;
    expect(h.store.getCollection(COL)!.liveGeneration).toBe(generation);
    expect(h.store.getGeneration(generation)).toMatchObject({ state: 'live', model: B, dimensions: 48, retiredAt: null });
    expect(h.store.getGeneration(oldGeneration)).toMatchObject({ state: 'retired', model: A, dimensions: 32 });
    expect(h.store.getGeneration(oldGeneration)!.retiredAt).not.toBeNull();
    expect(h.swaps.map((g) => [g.id, g.state])).toEqual([[generation, 'live']]);
    expect(h.service.info(COL)).toMatchObject({ model: B, target: B, dimensions: 48, generation, documentCount: DOCS.length });

    await expectGenerationHolds(h, generation, B, DOCS);
    await expectFinds(h, DOCS[3]!, generation, B);
    expect(h.runner.list(COL).map((j) => j.id)).toEqual([job.id]);
    expect(h.runner.list('other')).toEqual([]);
  });

  it('writes made while the job runs end up in the new generation, and a stale batch never overwrites them', async () => {
    const h = await harness();
    await seed(h);
    const added = [
      { id: 'doc-05x', text: 'a new note on supersonic nozzle flow' }, // before the cursor of the write
      { id: 'zz-new', text: 'another new note about river music' }, // after every existing id
    ];
    const changed = [
      { id: 'doc-03', text: 'rewritten after its batch: mountain wave' }, // already re-embedded
      { id: 'doc-10', text: 'rewritten inside the running batch: heat panel' }, // in the batch being embedded
      { id: 'doc-20', text: 'rewritten before its batch: laminar plate' }, // not reached yet
    ];
    const deleted = ['doc-12', 'doc-25']; // in the running batch, and not reached yet
    // The second batch (doc-08 .. doc-15) has computed its vectors; the writes commit before it stores them.
    h.afterEmbed = async (call) => {
      if (call !== 2) return;
      expect(await h.service.upsertDocuments(COL, [...added, ...changed])).toEqual({ upserted: 5, unchanged: 0 });
      expect(await h.service.deleteDocuments(COL, deleted)).toEqual(deleted);
    };

    const job = await waitForJob(h.runner, (await h.runner.start(COL, { model: B })).id);
    expect(job.state).toBe('succeeded');

    const final = DOCS.filter((d) => !deleted.includes(d.id) && !changed.some((c) => c.id === d.id))
      .concat(added, changed)
      .sort((a, b) => a.id.localeCompare(b.id));
    expect(final).toHaveLength(30);
    expect(job.done).toBe(final.length);
    expect(job.total).toBe(final.length);
    // Batch 2 stores 6 of its 8 (doc-10 changed, doc-12 deleted since it read them) beside the 4
    // vectors the upsert wrote (doc-05x, doc-10, doc-20, zz-new; doc-03 already had one); the rest
    // follows in id order without doc-20 and doc-25.
    expect(h.batches.map((b) => [b.done, b.cursor])).toEqual([
      [8, 'doc-07'],
      [18, 'doc-15'],
      [26, 'doc-24'],
      [30, 'doc-29'],
    ]);
    await expectGenerationHolds(h, job.generation!, B, final);
    for (const d of [...added, ...changed]) await expectFinds(h, d, job.generation!, B);
    const all = await h.service.search(COL, { mode: 'dense', query: 'note', k: 100 });
    expect(all.results.map((r) => r.id).sort()).toEqual(final.map((d) => d.id));
    // The replaced generation received the same writes (it stays current for a rollback).
    await expectGenerationHolds(h, job.previousGeneration!, A, final);
  });

  it('an explicit model and reason override the target; a second job for the collection is refused while one is active', async () => {
    const h = await harness();
    await seed(h);
    const first = await h.runner.start(COL, { model: B, reason: 'drift' });
    expect(first).toMatchObject({ model: B, reason: 'drift' });
    await expect(h.runner.start(COL, { model: B })).rejects.toThrow(ConflictError);
    await expect(h.runner.start(COL, { model: B })).rejects.toThrow(new RegExp(`already has a re-embedding job \\(${first.id}`));
    const done = await waitForJob(h.runner, first.id);
    expect(done.state).toBe('succeeded');
    expect(h.service.info(COL).target).toBe(A); // the target is not changed by a job
    expect(h.service.info(COL).model).toBe(B);
  });

  it('refuses unknown collections, models and jobs without creating a job', async () => {
    const h = await harness();
    await seed(h);
    await expect(h.runner.start('nope', { model: B })).rejects.toThrow(CollectionNotFoundError);
    await expect(h.runner.start(COL, { model: 'tiny-z@1' })).rejects.toThrow(ModelNotFoundError);
    await expect(h.runner.start(COL, { model: 'tiny-b@9' })).rejects.toThrow(ModelNotFoundError);
    expect(h.runner.list()).toEqual([]);
    expect(() => h.runner.get('missing')).toThrow(JobNotFoundError);
    await expect(h.runner.cancel('missing')).rejects.toThrow(JobNotFoundError);
    expect(h.store.listGenerations(COL)).toHaveLength(1);
  });

  it('cancel mid-run stops after the current batch, removes the partial generation and leaves the live one serving', async () => {
    const h = await harness();
    const live = await seed(h);
    let cancelling: Promise<JobStatus> | undefined;
    h.afterBatch = (job) => {
      cancelling ??= h.runner.cancel(job.id);
    };
    const started = await h.runner.start(COL, { model: B });
    const cancelled = await (await waitFor('the first batch', () => cancelling));

    expect(cancelled).toMatchObject({ id: started.id, state: 'cancelled', error: null, done: BATCH });
    expect(cancelled.finishedAt).not.toBeNull();
    expect(h.batches).toHaveLength(1);
    expect(cancelled.generation).not.toBeNull();
    expect(h.store.getGeneration(cancelled.generation!)).toBeUndefined();
    expect(h.store.countVectors(cancelled.generation!)).toBe(0);
    expect(h.store.listGenerations(COL).map((g) => [g.id, g.state])).toEqual([[live, 'live']]);
    expect(h.swaps).toEqual([]);
    await expectFinds(h, DOCS[4]!, live, A);
    await expect(h.runner.cancel(started.id)).rejects.toThrow(/already cancelled/);
  });

  it('cancel right after start (before any batch) cancels it too, and a new job can then run', async () => {
    const h = await harness();
    const live = await seed(h);
    const started = await h.runner.start(COL, { model: B });
    const cancelled = await h.runner.cancel(started.id);
    expect(cancelled.state).toBe('cancelled');
    expect(h.batches).toEqual([]);
    expect(h.store.listGenerations(COL).map((g) => g.id)).toEqual([live]);

    const again = await waitForJob(h.runner, (await h.runner.start(COL, { model: B })).id);
    expect(again.state).toBe('succeeded');
    expect(again.previousGeneration).toBe(live);
    await expect(h.runner.cancel(again.id)).rejects.toThrow(/already succeeded/);
    expect(h.runner.list(COL).map((j) => j.state).sort()).toEqual(['cancelled', 'succeeded']);
  });

  it('a failing quality gate fails the job with its reason and drops the candidate generation', async () => {
    const seen: { live: GenerationRow; candidate: GenerationRow }[] = [];
    const h = await harness({
      hooks: {
        gate: async (_collection, live, candidate) => {
          seen.push({ live, candidate });
          return { ok: false, reason: 'candidate nDCG@10 0.10 < live 0.50 - margin 0.02' };
        },
      },
    });
    const live = await seed(h);
    const job = await waitForJob(h.runner, (await h.runner.start(COL, { model: B })).id);

    expect(job.state).toBe('failed');
    expect(job.error).toBe('quality gate failed: candidate nDCG@10 0.10 < live 0.50 - margin 0.02');
    expect(job.finishedAt).not.toBeNull();
    expect(job.done).toBe(DOCS.length); // every batch ran; the gate came after
    expect(seen).toHaveLength(1);
    expect(seen[0]!.live).toMatchObject({ id: live, state: 'live', model: A });
    expect(seen[0]!.candidate).toMatchObject({ id: job.generation, state: 'building', model: B });
    expect(h.store.getGeneration(job.generation!)).toBeUndefined();
    expect(h.store.listGenerations(COL).map((g) => [g.id, g.state])).toEqual([[live, 'live']]);
    expect(h.swaps).toEqual([]);
    await expectFinds(h, DOCS[0]!, live, A);
  });

  it('a model that fails its checksum fails the job with the integrity error, before any generation is made', async () => {
    const h = await harness();
    const live = await seed(h);
    const job = await waitForJob(h.runner, (await h.runner.start(COL, { model: BROKEN })).id);
    expect(job.state).toBe('failed');
    expect(job.error).toMatch(/^model tiny-broken@1: file onnx\/model\.onnx does not match its manifest checksum/);
    expect(job.generation).toBeNull();
    expect(job.done).toBe(0);
    expect(h.store.listGenerations(COL).map((g) => g.id)).toEqual([live]);
    // A failed job is not active: the next one may start.
    expect((await waitForJob(h.runner, (await h.runner.start(COL, { model: B })).id)).state).toBe('succeeded');
  });
});

describe('races with starts and writes', () => {
  it('two starts at once for one collection make one job; the other is refused as a conflict', async () => {
    const h = await harness();
    await seed(h);
    // Both calls begin before either has stored its job (each awaits the model's resolution first).
    const results = await Promise.allSettled([h.runner.start(COL, { model: B }), h.runner.start(COL, { model: B })]);
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    expect(started).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(ConflictError);
    expect(refused[0]!.message).toMatch(new RegExp(`^collection '${COL}' already has a re-embedding job \\(${started[0]!.id}, (queued|running)\\)$`));
    expect(h.runner.list(COL).map((j) => j.id)).toEqual([started[0]!.id]);
    expect((await waitForJob(h.runner, started[0]!.id)).state).toBe('succeeded');
    expect(h.store.listGenerations(COL)).toHaveLength(2);
  });

  /**
   * Holds the next upsert of the harness's service between reading which generations to write
   * (only the live one, before the job has made its own) and committing: its first engine lookup
   * for the live model waits until `release` is called.
   */
  function holdUpsertBeforeCommit(): { release: () => void; restore: () => void } {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const get = engines.get.bind(engines);
    let lookups = 0;
    const spy = vi.spyOn(engines, 'get').mockImplementation(async (ref) => {
      if (ref === A && lookups++ === 0) await released;
      return get(ref);
    });
    return {
      release,
      restore: () => {
        release();
        spy.mockRestore();
      },
    };
  }

  const LATE = { id: 'late', text: 'a late note about river shock music' };
  const WITH_LATE = [...DOCS, LATE].sort((a, b) => a.id.localeCompare(b.id));

  it('an upsert that read the generations before the job made its own, and commits after the swap, is in the new live generation', async () => {
    const h = await harness();
    const first = await seed(h);
    const held = holdUpsertBeforeCommit();
    try {
      const upserting = h.service.upsertDocuments(COL, [LATE]);
      const job = await waitForJob(h.runner, (await h.runner.start(COL, { model: B })).id);
      expect(job.state).toBe('succeeded');
      held.release();
      expect(await upserting).toEqual({ upserted: 1, unchanged: 0 });

      expect(h.service.info(COL)).toMatchObject({ generation: job.generation, model: B, documentCount: WITH_LATE.length });
      await expectGenerationHolds(h, job.generation!, B, WITH_LATE);
      await expectFinds(h, LATE, job.generation!, B);
      await expectGenerationHolds(h, first, A, WITH_LATE); // the replaced generation has it too
    } finally {
      held.restore();
    }
  });

  it('an upsert that read the generations before the job made its own, and commits between verification and swap, is in the new live generation', async () => {
    let upserting: Promise<unknown> | undefined;
    let held: ReturnType<typeof holdUpsertBeforeCommit> | undefined;
    const h = await harness({
      hooks: {
        // The gate runs after the job verified its generation and before it swaps it in.
        gate: async () => {
          held!.release();
          expect(await upserting).toEqual({ upserted: 1, unchanged: 0 });
          return { ok: true, reason: 'the held upsert committed' };
        },
      },
    });
    const first = await seed(h);
    held = holdUpsertBeforeCommit();
    try {
      upserting = h.service.upsertDocuments(COL, [LATE]);
      const job = await waitForJob(h.runner, (await h.runner.start(COL, { model: B })).id);
      expect(job.state).toBe('succeeded');
      expect(job.done).toBe(WITH_LATE.length);
      await expectGenerationHolds(h, job.generation!, B, WITH_LATE);
      await expectFinds(h, LATE, job.generation!, B);
      await expectGenerationHolds(h, first, A, WITH_LATE);
    } finally {
      held.restore();
    }
  });

  it('a document that lacks a vector in the new generation after its verification is embedded before the swap, not swapped in without one', async () => {
    let gates = 0;
    let live = 0;
    const h = await harness({
      hooks: {
        // A writer that misses the building generation (what an upsert holding a stale list of
        // generations did), committing after the job verified it.
        gate: async () => {
          if (gates++ === 0) {
            const vector = (await (await h.service.engines.get(A)).embed([LATE.text], 'document')).vectors[0]!;
            h.store.upsertDocuments(COL, [{ id: LATE.id, text: LATE.text, contentHash: contentHash(LATE), vectors: new Map([[live, vector]]) }]);
          }
          return { ok: true, reason: 'passes' };
        },
      },
    });
    live = await seed(h);
    const job = await waitForJob(h.runner, (await h.runner.start(COL, { model: B })).id);
    expect(job.state).toBe('succeeded');
    expect(job.done).toBe(WITH_LATE.length);
    expect(h.store.getCollection(COL)!.liveGeneration).toBe(job.generation);
    await expectGenerationHolds(h, job.generation!, B, WITH_LATE);
    await expectFinds(h, LATE, job.generation!, B);
  });
});

describe('stopping and resuming', () => {
  /** Runs a job on a fresh data directory and stops the runner right after its first batch. */
  async function pausedAfterFirstBatch(): Promise<{ dataDir: string; job: JobRow; live: number }> {
    const dataDir = await newDataDir();
    const h = await openHarness(dataDir);
    try {
      const live = await seed(h);
      let closing: Promise<void> | undefined;
      h.afterBatch = () => {
        closing ??= h.runner.close();
      };
      const started = await h.runner.start(COL, { model: B });
      await (await waitFor('the first batch', () => closing));
      return { dataDir, job: h.store.getJob(started.id)!, live };
    } finally {
      await h.close();
    }
  }

  it('a job stopped by shutdown stays unfinished, and the re-opened runtime resumes it where it stopped', async () => {
    const { dataDir, job: paused, live } = await pausedAfterFirstBatch();
    expect(paused).toMatchObject({ state: 'running', done: BATCH, cursor: 'doc-07', previousGeneration: live, finishedAt: null, error: null });
    expect(paused.generation).not.toBeNull();

    const runtime = await openRuntime(configFor(dataDir), { startJobs: false, engines });
    let embedded = 0;
    engines.onBatch = (model, stats) => {
      if (model === B) embedded += stats.items;
    };
    try {
      expect(runtime.service.context.store.getGeneration(paused.generation!)!.state).toBe('building');
      runtime.lifecycle.start();
      const job = await waitForJob(runtime.lifecycle.jobs, paused.id);
      expect(job.state).toBe('succeeded');
      expect(job.generation).toBe(paused.generation); // the same generation, continued
      expect(job.done).toBe(DOCS.length);
      expect(embedded).toBe(DOCS.length - BATCH); // the first batch was not embedded again
      const info = runtime.service.info(COL);
      expect(info).toMatchObject({ generation: paused.generation, model: B });
      const res = await runtime.service.search(COL, { mode: 'dense', query: DOCS[2]!.text, k: 1 });
      expect(res.results[0]!.id).toBe(DOCS[2]!.id);
      expect(runtime.service.context.store.countVectors(paused.generation!)).toBe(DOCS.length);
    } finally {
      engines.onBatch = undefined;
      await runtime.close();
    }
  });

  it('cancelling an unfinished job that no process runs drops its partial generation', async () => {
    const { dataDir, job: paused, live } = await pausedAfterFirstBatch();
    const h = await harness({ dataDir }); // not resumed: nothing runs it
    const cancelled = await h.runner.cancel(paused.id);
    expect(cancelled).toMatchObject({ state: 'cancelled', done: BATCH });
    expect(h.store.getGeneration(paused.generation!)).toBeUndefined();
    expect(h.store.listGenerations(COL).map((g) => [g.id, g.state])).toEqual([[live, 'live']]);
  });

  it('resuming a job whose collection was deleted meanwhile marks it failed', async () => {
    const { dataDir, job: paused } = await pausedAfterFirstBatch();
    const h = await harness({ dataDir });
    await h.service.deleteCollection(COL);
    h.runner.resumeAll();
    const job = h.runner.get(paused.id);
    expect(job).toMatchObject({ state: 'failed', error: 'collection no longer exists' });
    expect(job.finishedAt).not.toBeNull();
  });
});

describe('rollback and retention', () => {
  it('rollback makes the replaced generation live again, with the writes made since the swap', async () => {
    const h = await harness();
    const first = await seed(h);
    const job = await waitForJob(h.runner, (await h.runner.start(COL, { model: B })).id);
    const second = job.generation!;
    const later = { id: 'after-swap', text: 'written after the swap: panel flutter music' };
    await h.service.upsertDocuments(COL, [later]);

    const restored = await h.runner.rollback(COL);
    expect(restored).toMatchObject({ id: first, state: 'live', model: A, retiredAt: null });
    expect(h.store.getCollection(COL)!.liveGeneration).toBe(first);
    expect(h.store.getGeneration(second)!.state).toBe('retired');
    expect(h.swaps.map((g) => g.id)).toEqual([second, first]);
    await expectFinds(h, later, first, A);
    await expectGenerationHolds(h, first, A, [...DOCS, later].sort((a, b) => a.id.localeCompare(b.id)));

    // Rolling back again returns to the generation just replaced.
    expect((await h.runner.rollback(COL)).id).toBe(second);
    await expectFinds(h, later, second, B);
  });

  it('rollback is refused without a replaced generation, while a job runs, and for unknown collections', async () => {
    const h = await harness();
    await seed(h);
    await expect(h.runner.rollback(COL)).rejects.toThrow(/no previous generation/);
    await expect(h.runner.rollback('nope')).rejects.toThrow(CollectionNotFoundError);
    const started = await h.runner.start(COL, { model: B });
    await expect(h.runner.rollback(COL)).rejects.toThrow(/re-embedding job in progress.*cancel it first/);
    expect((await waitForJob(h.runner, started.id)).state).toBe('succeeded');
  });

  it('a job started while a rollback waits for the write lock makes the rollback refuse, not race it', async () => {
    const h = await harness();
    await seed(h);
    expect((await waitForJob(h.runner, (await h.runner.start(COL, { model: B })).id)).state).toBe('succeeded');
    // Hold the collection's write lock so the rollback passes its first check and then waits.
    let release!: () => void;
    const held = h.service.context.writes.run(COL, () => new Promise<void>((r) => (release = r)));
    const rollback = h.runner.rollback(COL);
    const started = await h.runner.start(COL, { model: A });
    release();
    await held;
    await expect(rollback).rejects.toThrow(/re-embedding job in progress.*cancel it first/);
    const finished = await waitForJob(h.runner, started.id);
    expect(finished.state).toBe('succeeded');
    expect(h.store.getCollection(COL)!.liveGeneration).toBe(finished.generation);
  });

  it('with zero retention the replaced generation is dropped after the swap, leaving nothing to roll back to', async () => {
    const h = await harness({ retentionSeconds: 0 });
    const first = await seed(h);
    const job = await waitForJob(h.runner, (await h.runner.start(COL, { model: B })).id);
    expect(job.state).toBe('succeeded');
    await waitFor('the replaced generation to be dropped', () => h.store.getGeneration(first) === undefined);
    expect(h.store.listGenerations(COL).map((g) => [g.id, g.state])).toEqual([[job.generation, 'live']]);
    expect(h.store.countVectors(first)).toBe(0);
    await expect(h.runner.rollback(COL)).rejects.toThrow(/no previous generation/);
    await expectFinds(h, DOCS[9]!, job.generation!, B);
  });
});

describe('adopting an adapter: the job transforms the live vectors instead of embedding', () => {
  /** An adapter of the live model A (32-d), and one of B (48-d), whose parent is not the live model. */
  let onA: ModelVersion;
  let onB: ModelVersion;
  let W: Float32Array;

  function randomMatrix(d: number, seed: number, scale: number): Float32Array {
    const r = mulberry32(seed);
    return Float32Array.from({ length: d * d }, () => (r() * 2 - 1) * scale);
  }
  function lineage(collection: string): TrainedLineageInput {
    return {
      collection,
      data: { documents: DOCS.length, pseudoQueries: 0, feedback: 0 },
      hyperparameters: { note: 'random W for tests' },
      seed: 1,
      validation: { before: {}, after: {} },
    };
  }
  /** normalize(v + vW) in float64. */
  function adapted(v: Float32Array, w: Float32Array): number[] {
    const d = v.length;
    const u = Array.from(v, Number);
    for (let j = 0; j < d; j++) for (let i = 0; i < d; i++) u[j] = u[j]! + v[i]! * w[i * d + j]!;
    const n = Math.sqrt(u.reduce((a, x) => a + x * x, 0));
    return u.map((x) => x / n);
  }

  beforeAll(async () => {
    const registry = new ModelRegistry(modelsDir);
    W = randomMatrix(32, 21, 0.3);
    onA = await writeAdapterModel(modelsDir, await registry.resolve(A), W, lineage('transform'));
    onB = await writeAdapterModel(modelsDir, await registry.resolve(B), randomMatrix(48, 22, 0.3), lineage('other-parent'));
  });

  /** Counts the job engine's embed calls and the texts they embedded. */
  function countEmbeds(h: Harness): string[][] {
    const calls: string[][] = [];
    h.afterEmbed = async (_call, texts) => {
      calls.push([...texts]);
    };
    return calls;
  }

  /** Every vector `generation` holds for `docs` is normalize(v + vW) of the one `from` holds. */
  function expectTransformed(h: Harness, from: number, generation: number, docs: readonly { id: string }[]): void {
    const ids = docs.map((d) => d.id);
    const before = h.store.getVectors(from, ids);
    const after = h.store.getVectors(generation, ids);
    for (const id of ids) {
      expect(before.get(id), id).toBeDefined();
      expect(maxAbsDiff(after.get(id)!, adapted(before.get(id)!, W)), id).toBeLessThan(1e-6);
    }
  }

  it('fills the new generation from the live vectors without embedding them, swaps it in, and rolls back', async () => {
    const h = await harness();
    const live = await seed(h);
    const embeds = countEmbeds(h);

    const queued = await h.runner.start(COL, { model: onA.id });
    expect(queued).toMatchObject({ model: 'transform-adapter@1', state: 'queued', method: 'transform' });
    const job = await waitForJob(h.runner, queued.id);
    expect(job).toMatchObject({ state: 'succeeded', error: null, method: 'transform', previousGeneration: live, done: DOCS.length, total: DOCS.length });
    expect(embeds).toEqual([]); // no model ran over the corpus
    // The same batches, progress and cursor as the embedding path.
    expect(h.batches.map((b) => [b.done, b.cursor])).toEqual([
      [8, 'doc-07'],
      [16, 'doc-15'],
      [24, 'doc-23'],
      [30, 'doc-29'],
    ]);

    const generation = job.generation!;
    expect(h.store.getGeneration(generation)).toMatchObject({ state: 'live', model: onA.id, dimensions: 32 });
    expect(h.store.getGeneration(live)).toMatchObject({ state: 'retired', model: A });
    expectTransformed(h, live, generation, DOCS);
    await expectGenerationHolds(h, generation, onA.id, DOCS); // what the adapter's engine serves, within 1e-4
    await expectFinds(h, DOCS[5]!, generation, onA.id);

    // The API's view says how it filled the generation, and its schema accepts it.
    const view = jobView(h.runner.get(job.id));
    expect(view.method).toBe('transform');
    expect(responses.job.parse(view)).toMatchObject({ method: 'transform' });

    expect(await h.runner.rollback(COL)).toMatchObject({ id: live, state: 'live', model: A });
    await expectFinds(h, DOCS[5]!, live, A);
    expect((await h.runner.rollback(COL)).id).toBe(generation);
    await expectFinds(h, DOCS[6]!, generation, onA.id);
  });

  it('writes made while it transforms end up in both generations', async () => {
    const h = await harness();
    const live = await seed(h);
    const embeds = countEmbeds(h);
    const added = [{ id: 'doc-05x', text: 'a new note on supersonic nozzle flow' }, { id: 'zz-new', text: 'another new note about river music' }];
    const changed = [
      { id: 'doc-03', text: 'rewritten after its batch: mountain wave' },
      { id: 'doc-20', text: 'rewritten before its batch: laminar plate' },
    ];
    const deleted = ['doc-12', 'doc-25'];
    let writing: Promise<void> | undefined;
    h.afterBatch = () => {
      writing ??= (async () => {
        expect(await h.service.upsertDocuments(COL, [...added, ...changed])).toEqual({ upserted: 4, unchanged: 0 });
        expect(await h.service.deleteDocuments(COL, deleted)).toEqual(deleted);
      })();
    };
    const job = await waitForJob(h.runner, (await h.runner.start(COL, { model: onA.id })).id);
    await writing;
    expect(job).toMatchObject({ state: 'succeeded', method: 'transform' });
    expect(embeds).toEqual([]); // the writes were embedded by the write path, not the job

    const final = DOCS.filter((d) => !deleted.includes(d.id) && !changed.some((c) => c.id === d.id))
      .concat(added, changed)
      .sort((a, b) => a.id.localeCompare(b.id));
    const generation = job.generation!;
    // Which generation is live when the writes commit depends on timing; both hold them either way.
    expect(h.store.countDocuments(COL)).toBe(final.length);
    await expectGenerationHolds(h, generation, onA.id, final);
    await expectGenerationHolds(h, live, A, final);
    expectTransformed(h, live, generation, final.filter((d) => !added.some((a) => a.id === d.id) && !changed.some((c) => c.id === d.id)));
    for (const d of [...added, ...changed]) await expectFinds(h, d, generation, onA.id);
    expect((await h.runner.rollback(COL)).id).toBe(live);
    for (const d of [...added, ...changed]) await expectFinds(h, d, live, A);
  });

  it('embeds, with the adapter, the documents whose live vector it cannot use: none stored, or one the client supplied', async () => {
    const h = await harness();
    const live = await seed(h);
    const orphan = { id: 'orphan', text: 'a note that lost its live vector: wing panel' };
    const supplied = { id: 'supplied', text: 'a note with a vector of its own: heat river' };
    const own = (await (await h.service.engines.get(A)).embed(['something else entirely'], 'document')).vectors[0]!;
    expect(await h.service.upsertDocuments(COL, [{ ...supplied, vector: Array.from(own) }])).toEqual({ upserted: 1, unchanged: 0 });
    // A document without a vector in the live generation (a writer that missed it; should not happen).
    h.store.upsertDocuments(COL, [{ id: orphan.id, text: orphan.text, contentHash: contentHash(orphan), vectors: new Map() }]);
    const embeds = countEmbeds(h);

    const job = await waitForJob(h.runner, (await h.runner.start(COL, { model: onA.id })).id);
    expect(job).toMatchObject({ state: 'succeeded', method: 'transform', done: DOCS.length + 2 });
    // Only those two were embedded (each in its own batch: 'orphan' and 'supplied' sort after every doc-*).
    expect(embeds.flat().sort()).toEqual([orphan.text, supplied.text].sort());
    const all = [...DOCS, orphan, supplied].sort((a, b) => a.id.localeCompare(b.id));
    await expectGenerationHolds(h, job.generation!, onA.id, all); // from their texts, not the supplied vector
    expectTransformed(h, live, job.generation!, DOCS);
  });

  it('cancel stops it after a batch; a job stopped by shutdown resumes transforming where it stopped', async () => {
    const h = await harness();
    const live = await seed(h);
    let cancelling: Promise<JobStatus> | undefined;
    h.afterBatch = (job) => {
      cancelling ??= h.runner.cancel(job.id);
    };
    await h.runner.start(COL, { model: onA.id });
    const cancelled = await (await waitFor('the first batch', () => cancelling));
    expect(cancelled).toMatchObject({ state: 'cancelled', done: BATCH, method: 'transform' });
    expect(h.store.getGeneration(cancelled.generation!)).toBeUndefined();
    expect(h.store.listGenerations(COL).map((g) => [g.id, g.state])).toEqual([[live, 'live']]);

    // Paused by shutdown after its first batch, then resumed by a new runtime over the same data directory.
    let closing: Promise<void> | undefined;
    h.afterBatch = () => {
      closing ??= h.runner.close();
    };
    const started = await h.runner.start(COL, { model: onA.id });
    await (await waitFor('the first batch', () => closing));
    await h.close();
    opened.splice(opened.indexOf(h), 1);

    const runtime = await openRuntime(configFor(h.config.dataDir), { startJobs: false, engines });
    let embedded = 0;
    engines.onBatch = (model, stats) => {
      if (model === onA.id) embedded += stats.items;
    };
    try {
      const before = runtime.service.context.store.getJob(started.id)!;
      expect(before).toMatchObject({ state: 'running', done: BATCH, cursor: 'doc-07' });
      runtime.lifecycle.start();
      const job = await waitForJob(runtime.lifecycle.jobs, started.id);
      expect(job).toMatchObject({ state: 'succeeded', generation: before.generation, done: DOCS.length, method: 'transform' });
      expect(embedded).toBe(0);
      const store = runtime.service.context.store;
      const ids = DOCS.map((d) => d.id);
      const from = store.getVectors(live, ids);
      const to = store.getVectors(job.generation!, ids);
      for (const id of ids) expect(maxAbsDiff(to.get(id)!, adapted(from.get(id)!, W)), id).toBeLessThan(1e-6);
      const res = await runtime.service.search(COL, { mode: 'dense', query: DOCS[2]!.text, k: 1 });
      expect([res.results[0]!.id, res.model]).toEqual([DOCS[2]!.id, onA.id]);
    } finally {
      engines.onBatch = undefined;
      await runtime.close();
    }
  });

  it('an adapter of another model than the live one takes the embedding path', async () => {
    const h = await harness();
    await seed(h);
    const embeds = countEmbeds(h);
    const queued = await h.runner.start(COL, { model: onB.id });
    expect(queued.method).toBe('embed');
    const job = await waitForJob(h.runner, queued.id);
    expect(job).toMatchObject({ state: 'succeeded', method: 'embed', done: DOCS.length });
    expect(embeds.flat().sort()).toEqual(DOCS.map((d) => d.text).sort());
    expect(h.store.getGeneration(job.generation!)).toMatchObject({ state: 'live', model: onB.id, dimensions: 48 });
    await expectGenerationHolds(h, job.generation!, onB.id, DOCS);
    await expectFinds(h, DOCS[7]!, job.generation!, onB.id);
    expect(jobView(job).method).toBe('embed');
  });
});
