// Tests src/store/jobs.ts: the re-embedding jobs repository (create, read, update progress and outcome, list).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.ts';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { JobRow, JobState, JobsRepository, NewCollection } from '../../../src/store/types.ts';
import { sleep, spec } from '../../helpers/store.ts';

const newJob = (id: string, collection = 'c'): Pick<JobRow, 'id' | 'collection' | 'model' | 'reason' | 'total'> => ({
  id,
  collection,
  model: 'bge-small@1',
  reason: 'drift',
  total: 40,
});

describe('jobs', () => {
  let dir: string;
  let store: SqliteStore;
  let jobs: JobsRepository;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-jobs-'));
    store = SqliteStore.open(join(dir, 'data'));
    jobs = store.jobs;
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const dataDir = () => join(dir, 'data');

  it('creates a queued re-embedding job with nothing done yet', () => {
    const job = jobs.createJob(newJob('j1'));
    expect(job).toEqual({
      id: 'j1',
      kind: 'reembed',
      collection: 'c',
      state: 'queued',
      model: 'bge-small@1',
      generation: null,
      previousGeneration: null,
      done: 0,
      total: 40,
      cursor: null,
      reason: 'drift',
      error: null,
      createdAt: job.createdAt,
      startedAt: null,
      finishedAt: null,
      updatedAt: job.createdAt,
    });
    expect(new Date(job.createdAt).toISOString()).toBe(job.createdAt);
    expect(jobs.getJob('j1')).toEqual(job);
    expect(jobs.getJob('nope')).toBeUndefined();
  });

  it('refuses a second job with the same id and keeps the first', () => {
    const first = jobs.createJob(newJob('j1'));
    expect(() => jobs.createJob({ ...newJob('j1', 'other'), model: 'm@9' })).toThrow(/UNIQUE/);
    expect(jobs.getJob('j1')).toEqual(first);
    expect(jobs.listJobs()).toHaveLength(1);
  });

  it('records a run from start to finish: generations, progress, cursor, outcome', async () => {
    const created = jobs.createJob(newJob('j1'));
    await sleep(5);
    const startedAt = new Date().toISOString();
    const running = jobs.updateJob('j1', { state: 'running', startedAt, generation: 2, previousGeneration: 1 });
    expect(running).toMatchObject({ state: 'running', startedAt, generation: 2, previousGeneration: 1, done: 0, cursor: null });
    expect(running.updatedAt > created.updatedAt).toBe(true);
    expect(running.createdAt).toBe(created.createdAt);

    await sleep(5);
    const progressed = jobs.updateJob('j1', { done: 16, cursor: 'doc-0016' });
    expect(progressed).toMatchObject({ state: 'running', done: 16, cursor: 'doc-0016', total: 40, generation: 2 });
    expect(progressed.updatedAt > running.updatedAt).toBe(true);

    // Undefined fields are left alone; null clears a field.
    expect(jobs.updateJob('j1', { done: 20, cursor: undefined })).toMatchObject({ done: 20, cursor: 'doc-0016' });
    expect(jobs.updateJob('j1', { cursor: null, total: 41 })).toMatchObject({ done: 20, cursor: null, total: 41 });

    const finishedAt = new Date().toISOString();
    const finished = jobs.updateJob('j1', { state: 'succeeded', done: 41, finishedAt });
    expect(finished).toMatchObject({ state: 'succeeded', done: 41, finishedAt, startedAt, error: null, reason: 'drift', model: 'bge-small@1' });
    expect(jobs.getJob('j1')).toEqual(finished);
  });

  it('records a failure with its error', () => {
    jobs.createJob(newJob('j1'));
    const failed = jobs.updateJob('j1', { state: 'failed', error: 'model went away', finishedAt: new Date().toISOString() });
    expect(failed).toMatchObject({ state: 'failed', error: 'model went away' });
    expect(failed.finishedAt).not.toBeNull();
    for (const state of ['cancelled', 'queued'] as const) expect(jobs.updateJob('j1', { state }).state).toBe(state);
  });

  it('refuses updates to unknown jobs and states the schema does not know', () => {
    expect(() => jobs.updateJob('nope', { done: 1 })).toThrow(InvalidInputError);
    expect(() => jobs.updateJob('nope', {})).toThrow(InvalidInputError);
    const job = jobs.createJob(newJob('j1'));
    expect(() => jobs.updateJob('j1', { state: 'paused' as JobState, done: 3 })).toThrow(/CHECK/);
    expect(jobs.getJob('j1')).toEqual(job); // the whole patch was refused, done included
    // An empty patch changes nothing, not even updatedAt.
    expect(jobs.updateJob('j1', {})).toEqual(job);
    expect(jobs.updateJob('j1', { done: undefined })).toEqual(job);
  });

  it('lists jobs newest first, all of them or one collection', async () => {
    jobs.createJob(newJob('first', 'c'));
    await sleep(5);
    jobs.createJob(newJob('second', 'other'));
    await sleep(5);
    jobs.createJob(newJob('third', 'c'));
    expect(jobs.listJobs().map((j) => j.id)).toEqual(['third', 'second', 'first']);
    expect(jobs.listJobs('c').map((j) => j.id)).toEqual(['third', 'first']);
    expect(jobs.listJobs('other').map((j) => j.id)).toEqual(['second']);
    expect(jobs.listJobs('nothing-here')).toEqual([]);
    // Progress does not reorder: the order is by creation.
    jobs.updateJob('first', { done: 1 });
    expect(jobs.listJobs().map((j) => j.id)).toEqual(['third', 'second', 'first']);
  });

  it('keeps a job after its collection is deleted and across a reopen', () => {
    store.createCollection(spec('c'));
    const job = jobs.createJob(newJob('j1', 'c'));
    const done = jobs.updateJob('j1', { state: 'succeeded', done: 40 });
    expect(store.deleteCollection('c')).toBe(true);
    expect(jobs.getJob('j1')).toEqual(done);
    store.close();
    store = SqliteStore.open(dataDir());
    jobs = store.jobs;
    expect(jobs.getJob('j1')).toEqual(done);
    expect(jobs.listJobs('c').map((j) => j.id)).toEqual([job.id]);
  });
});
