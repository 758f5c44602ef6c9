/**
 * Acceptance (issue 13): the loop closes, and training survives a crash.
 *
 * - A Cranfield collection with policy `auto` and `training.auto` ingests CISI documents: its
 *   documents drift, the policy starts a training job with activate (instead of reporting
 *   new_model_needed), the gate passes, the adapter swaps in, while a client searches all along:
 *   zero failed searches, every response from one generation (the old or the new); afterwards the
 *   collection reports the trained model and its lineage, and the policy does not flip it back;
 *   rollback restores the previous generation with identical results.
 * - kill -9 during a training job, restart: the job trains again and succeeds; the live
 *   generation was never touched (same generation, model and results).
 * Needs ../shared/datasets; skips with a message without it.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import * as responses from '../../src/api/responses.ts';
import { datasetDir, docText, readCorpus, readQueries } from '../../scripts/lib/beir.ts';
import { datasetDataDir, type TempDir } from '../helpers/datasets.ts';
import { api, startChildServer, startTestServer, tempDir, type ChildServer } from '../helpers/server.ts';

const cranfield = datasetDir('cranfield');
const cisi = datasetDir('cisi');
if (!cranfield || !cisi) console.log('training loop acceptance skipped: ../shared/datasets/cranfield and cisi are needed');

type Job = ReturnType<typeof responses.job.parse>;
type SearchBody = { results: { id: string }[]; generation: number; model: string };
interface CollectionBody {
  model: string;
  generation: number;
  lineage: { parent: string; kind: string; collection: string; data: { documents: number } } | null;
}

const until = async <T>(what: string, read: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
};

async function privateModels(): Promise<TempDir> {
  const models = await tempDir('sextant-loop-models-');
  await cp(inject('modelsDir'), models.path, { recursive: true });
  return models;
}

describe.skipIf(!cranfield || !cisi)('the loop: drift trains, gates and swaps under continuous search', () => {
  const cleanups: (() => Promise<void>)[] = [];
  const figures: Record<string, unknown> = {};
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    console.log(`training loop: ${JSON.stringify(figures)}`);
  });

  it('Cranfield with policy auto and training.auto ingests CISI: drifts, trains, passes the gate and swaps; zero failed searches; rollback is exact', async () => {
    const data = (await datasetDataDir('cranfield'))!;
    const models = await privateModels();
    cleanups.push(data.remove, models.remove);
    const server = await startTestServer({ dataDir: data.path, modelsDir: models.path });
    cleanups.push(() => server.close());
    const url = server.url;

    const patched = await api(url, 'PATCH', '/v1/collections/cranfield', { policy: 'auto', training: { auto: true } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const start = (await api<CollectionBody>(url, 'GET', '/v1/collections/cranfield')).body;
    expect(start).toMatchObject({ model: 'use-lite@1', lineage: null });

    // A client searching all along.
    const queries = readQueries(cranfield!).map((q) => q.text);
    const seen: { status: number; generation: number }[] = [];
    let searching = true;
    const searcher = (async () => {
      for (let i = 0; searching; i++) {
        const res = await api<SearchBody>(url, 'POST', '/v1/collections/cranfield/search', { query: queries[i % queries.length], k: 10 });
        seen.push({ status: res.status, generation: res.body.generation });
      }
    })();

    // CISI documents in batches until the policy starts training.
    const docs = readCorpus(cisi!).filter((d) => docText(d).trim());
    const trainJob = async () => responses.jobList.parse((await api(url, 'GET', '/v1/jobs?collection=cranfield')).body).jobs.find((j) => j.type === 'train');
    let ingested = 0;
    let started: Job | undefined;
    for (let i = 0; i < docs.length && !started; i += 50) {
      const batch = docs.slice(i, i + 50).map((d) => ({ id: `cisi-${d._id}`, title: d.title || null, text: d.text }));
      const res = await api(url, 'POST', '/v1/collections/cranfield/documents', { documents: batch });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      ingested += batch.length;
      // The batch's drift windows evaluated; the policy reviews the new state and starts the job.
      await server.lifecycle.drift.flush();
      const deadline = Date.now() + 2000;
      while (!(started = await trainJob()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    }
    expect(started, `no training job after ${ingested} CISI documents`).toBeDefined();
    figures.cisi_documents_before_training = ingested;
    expect(started).toMatchObject({ type: 'train', reason: 'drift', params: { kind: 'adapter', activate: true } });
    const drift = (await api<{ policy: { last_action: { decision: string; reason: string } | null } }>(url, 'GET', '/v1/collections/cranfield/drift')).body;
    expect(drift.policy.last_action).toMatchObject({ decision: 'train' });
    expect(drift.policy.last_action!.reason).toMatch(/drift persists/);

    // The old generation's answers, while training runs (nothing is written from here on).
    const probe = queries.slice(0, 20);
    const probeOn = async () => Promise.all(probe.map(async (query) => (await api<SearchBody>(url, 'POST', '/v1/collections/cranfield/search', { query, k: 10 })).body));
    const oldAnswers = await probeOn();
    expect(new Set(oldAnswers.map((a) => a.generation))).toEqual(new Set([start.generation]));

    const finished = await until(
      'the training job',
      async () => {
        const job = responses.job.parse((await api(url, 'GET', `/v1/jobs/${started!.id}`)).body);
        return job.state === 'queued' || job.state === 'running' ? undefined : job;
      },
      300_000,
    );
    expect(finished.state, finished.error ?? '').toBe('succeeded');
    expect(finished.gate!.passed, finished.gate!.reason).toBe(true);
    figures.gate = finished.gate!.reason;
    const activation = await until(
      'the activation job',
      async () => {
        const job = responses.job.parse((await api(url, 'GET', `/v1/jobs/${finished.activation_job}`)).body);
        return job.state === 'queued' || job.state === 'running' ? undefined : job;
      },
      300_000,
    );
    expect(activation).toMatchObject({ state: 'succeeded', model: 'cranfield-adapter@1', method: 'transform', reason: 'training' });
    // A few more searches on the new generation, then stop.
    const swappedAt = seen.length;
    await until('searches on the new generation', async () => (seen.length > swappedAt + 20 ? true : undefined), 60_000);
    searching = false;
    await searcher;

    const after = (await api<CollectionBody>(url, 'GET', '/v1/collections/cranfield')).body;
    expect(after.model).toBe('cranfield-adapter@1');
    expect(after.lineage).toMatchObject({ parent: 'use-lite@1', kind: 'adapter', collection: 'cranfield' });
    expect(after.lineage!.data.documents).toBeGreaterThanOrEqual(1398 + 50);
    const failed = seen.filter((s) => s.status !== 200);
    const generations = new Set(seen.map((s) => s.generation));
    Object.assign(figures, { searches: seen.length, failed: failed.length, generations: [...generations] });
    expect(failed).toEqual([]);
    expect(generations).toEqual(new Set([start.generation, after.generation]));

    // The policy keeps the trained model: it follows use-lite@1, its target.
    const decision = await server.lifecycle.policy.review('cranfield');
    expect(['none', 'suppressed']).toContain(decision.decision);
    expect(decision.reason).toMatch(/cranfield-adapter@1 was trained from the target use-lite@1/);
    expect((await api<CollectionBody>(url, 'GET', '/v1/collections/cranfield')).body.model).toBe('cranfield-adapter@1');

    const rolled = await api<{ generation: number; model: string }>(url, 'POST', '/v1/collections/cranfield/rollback');
    expect([rolled.status, rolled.body.generation, rolled.body.model]).toEqual([200, start.generation, 'use-lite@1']);
    const restored = await probeOn();
    expect(restored.map((a) => [a.generation, a.results.map((r) => r.id)])).toEqual(oldAnswers.map((a) => [a.generation, a.results.map((r) => r.id)]));
  }, 900_000);
});

describe.skipIf(!cranfield)('kill -9 during training', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('restarts the job after a restart and completes it; the live generation is never touched', async () => {
    const data = (await datasetDataDir('cranfield'))!;
    const models = await privateModels();
    cleanups.push(data.remove, models.remove);
    const env = { SEXTANT_DATA_DIR: data.path, SEXTANT_MODELS_DIR: models.path };
    let server: ChildServer = await startChildServer(env);
    cleanups.push(() => server.kill('SIGKILL'));
    const probe = readQueries(cranfield!).slice(0, 10).map((q) => q.text);
    const answers = async () =>
      Promise.all(probe.map(async (query) => (await api<SearchBody>(server.url, 'POST', '/v1/collections/cranfield/search', { query, k: 10 })).body)).then((all) =>
        all.map((a) => [a.generation, a.model, a.results.map((r) => r.id)]),
      );
    const before = await answers();

    const res = await api(server.url, 'POST', '/v1/collections/cranfield/train', { epochs: 2 });
    expect(res.status).toBe(202);
    const id = responses.job.parse(res.body).id;
    // Killed mid-training: once the training stage has made progress.
    await until(
      'training progress',
      async () => {
        const job = responses.job.parse((await api(server.url, 'GET', `/v1/jobs/${id}`)).body);
        expect(['queued', 'running']).toContain(job.state);
        return job.state === 'running' && job.done > 0 ? job : undefined;
      },
      300_000,
    );
    await server.kill('SIGKILL');
    expect((await server.exited).signal).toBe('SIGKILL');

    server = await startChildServer(env);
    const job = await until(
      'the restarted job',
      async () => {
        const j = responses.job.parse((await api(server.url, 'GET', `/v1/jobs/${id}`)).body);
        return j.state === 'queued' || j.state === 'running' ? undefined : j;
      },
      300_000,
    );
    expect(job.state, job.error ?? '').toBe('succeeded');
    expect(job.model).toBe('cranfield-adapter@1');
    expect(job.activation_job).toBeNull();
    expect(server.logs.join('')).toMatch(/restarting training job from scratch/);
    // Not activated: the collection answers as before the crash.
    expect(await answers()).toEqual(before);
    const versions = responses.modelList.parse((await api(server.url, 'GET', '/v1/models')).body).data.map((m) => m.id);
    expect(versions.filter((v) => v.startsWith('cranfield-'))).toEqual(['cranfield-adapter@1']);
  }, 900_000);
});
