// Tests POST /v1/collections/{name}/train and the job routes for training jobs, through app.request(), on USE-Lite.
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import * as responses from '../../../../src/api/responses.ts';
import { expectError } from '../../../helpers/api-errors.ts';
import { startTestApp, type TestApp } from '../../../helpers/app.ts';
import { api, tempDir } from '../../../helpers/server.ts';

const TOPICS = ['rivers and rain', 'songs and music', 'computers and code', 'food and cooking', 'stars and planets', 'dogs and cats', 'books and stories', 'cars and roads'];
/** 40 short documents, five per topic; `kind` groups the topics in two (the fairness check's field). */
const DOCS = Array.from({ length: 40 }, (_, i) => ({
  id: `d${String(i).padStart(2, '0')}`,
  text: `A short note number ${i} about ${TOPICS[i % TOPICS.length]}, with a few more words on ${TOPICS[(i * 3) % TOPICS.length]}.`,
  metadata: { kind: i % TOPICS.length < 4 ? 'nature' : 'culture' },
}));
const COL = 'notes';

let dir: Awaited<ReturnType<typeof tempDir>>;
let app: TestApp;
let modelsDir: string;
const call = (method: string, path: string, body?: unknown) => api(app, method, path, body);

type JobBody = ReturnType<typeof responses.job.parse>;

/** Polls the job until it is no longer queued or running (no fixed sleep: a tick between reads). */
async function settle(id: string): Promise<JobBody> {
  for (;;) {
    const res = await call('GET', `/v1/jobs/${id}`);
    expect(res.status).toBe(200);
    const job = responses.job.parse(res.body);
    if (job.state !== 'queued' && job.state !== 'running') return job;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const trainedVersions = async () => (await readdir(modelsDir)).filter((n) => n.includes('-adapter') || n.includes('-static'));
const jobIds = async () => ((await call('GET', '/v1/jobs')).body as { jobs: { id: string }[] }).jobs.map((j) => j.id);

beforeAll(async () => {
  dir = await tempDir('sextant-train-route-');
  // A private copy of the models: trained versions are written there.
  modelsDir = join(dir.path, 'models');
  await cp(inject('modelsDir'), modelsDir, { recursive: true });
  // Cooldown 0: the policy test below trains again right after a training.
  app = await startTestApp({ dataDir: join(dir.path, 'data'), modelsDir, threads: 1, policyCooldownSeconds: 0 });
  expect((await call('POST', '/v1/collections', { name: COL })).status).toBe(201);
  expect((await call('POST', `/v1/collections/${COL}/documents`, { documents: DOCS })).status).toBe(200);
  expect((await call('POST', '/v1/collections', { name: 'empty' })).status).toBe(201);
});

afterAll(async () => {
  await app?.close();
  await dir?.remove();
});

describe('POST /v1/collections/{name}/train', () => {
  it('refuses bad input (400), an unknown collection (404) and an empty one (400), writing nothing', async () => {
    const before = await jobIds();
    for (const body of [{ epochs: 0 }, { epochs: 1e9 }, { epochs: 101 }, { epochs: 1.5 }, { kind: 'lora' }, { gate: 'keyword' }, { activate: 'yes' }, { seed: 'x' }, { colour: 'red' }, []]) {
      expectError(await call('POST', `/v1/collections/${COL}/train`, body), 400, 'invalid_input');
    }
    expectError(await call('POST', '/v1/collections/nope/train', { epochs: 1 }), 404, 'collection_not_found');
    expectError(await call('POST', '/v1/collections/empty/train', { epochs: 1 }), 400, 'invalid_input');
    for (const fairness of [{}, { group_by: '' }, { group_by: 'kind', margin: -0.1 }, { group_by: 'kind', margin: 11 }, { group_by: 'kind', margin: '0.1' }, { group_by: 'kind', colour: 1 }, 'kind', null]) {
      expectError(await call('POST', `/v1/collections/${COL}/train`, { epochs: 1, fairness }), 400, 'invalid_input');
    }
    // A field no document has: refused before a job exists.
    const unknown = expectError(await call('POST', `/v1/collections/${COL}/train`, { epochs: 1, fairness: { group_by: 'colour' } }), 400, 'invalid_input');
    expect(unknown.message).toMatch(/fairness\.group_by: no document of collection 'notes' has metadata field 'colour'/);
    expect(await jobIds()).toEqual(before);
    expect(await trainedVersions()).toEqual([]);
  });

  it('starts a training job (202, type train) that finishes with model, validation and gate; a second one meanwhile is 409', async () => {
    const res = await call('POST', `/v1/collections/${COL}/train`, { epochs: 1, seed: 3 });
    expect(res.status).toBe(202);
    const started = responses.job.parse(res.body);
    expect(started).toMatchObject({ type: 'train', kind: 'train', collection: COL, state: 'queued', params: { kind: 'adapter', epochs: 1, seed: 3, gate: 'dense', activate: false } });
    expect(started.validation).toBeUndefined();
    // Queued or running: a second training job on the collection is refused.
    expectError(await call('POST', `/v1/collections/${COL}/train`, { epochs: 1 }), 409, 'conflict');

    const job = await settle(started.id);
    expect(job.state, job.error ?? '').toBe('succeeded');
    expect(job.model).toMatch(new RegExp(`^${COL}-adapter@\\d+$`));
    expect(job.parent).toBe(started.model);
    expect(Object.keys(job.validation!.before)).toContain('pseudo');
    expect(Object.keys(job.validation!.after)).toContain('pseudo');
    expect(typeof job.gate!.passed).toBe('boolean');
    expect(job.gate!.reason.length).toBeGreaterThan(0);
    expect(job.activation_job).toBeNull();
    expect(job.total).toBeGreaterThan(0);
    expect(job.done).toBe(job.total);

    const listed = responses.jobList.parse((await call('GET', `/v1/jobs?collection=${COL}`)).body).jobs;
    expect(listed.find((j) => j.id === started.id)).toMatchObject({ type: 'train', model: job.model });
    // Not activated: the collection still serves its model.
    expect(((await call('GET', `/v1/collections/${COL}`)).body as { model: string }).model).not.toBe(job.model);
  });

  it("with fairness: the job's params show it, the gate's outcome carries each group's figures and its reason the check's line", async () => {
    const res = await call('POST', `/v1/collections/${COL}/train`, { epochs: 1, fairness: { group_by: 'kind' } });
    expect(res.status).toBe(202);
    const started = responses.job.parse(res.body);
    expect(started.params).toMatchObject({ fairness: { group_by: 'kind', margin: 0.05 } });
    const job = await settle(started.id);
    expect(job.state, job.error ?? '').toBe('succeeded');
    const fairness = job.gate!.fairness!;
    expect(fairness).toMatchObject({ group_by: 'kind', margin: 0.05, mode: 'dense', k: 10 });
    expect(fairness.groups.map((g) => g.value).sort()).toEqual(['culture', 'nature']);
    for (const g of fairness.groups) {
      expect(g.documents).toBe(20);
      expect(g.collection_share).toBe(0.5);
    }
    // Two equal groups: both are as far from parity, on either side of it.
    const [first, second] = fairness.groups;
    expect(fairness.after!.disparity).toBeCloseTo(Math.abs(first!.after.value - 1), 12);
    expect(fairness.after!.disparity).toBeCloseTo(Math.abs(second!.after.value - 1), 12);
    expect(fairness.change).toBeCloseTo(fairness.after!.disparity - fairness.before!.disparity, 12);
    expect(job.gate!.reason).toContain(fairness.text);
    expect(fairness.passed).toBe(fairness.change! <= 0.05);
  });

  it('cancels a training job: cancelled, nothing written', async () => {
    const versions = await trainedVersions();
    // The versions inside the collection's adapter folder (one per training run that wrote).
    const adapterVersions = async () => (await readdir(join(modelsDir, `${COL}-adapter`)).catch(() => [])).sort();
    const inRegistry = await adapterVersions();
    const res = await call('POST', `/v1/collections/${COL}/train`, { epochs: 100 });
    expect(res.status).toBe(202);
    const started = responses.job.parse(res.body);
    const cancelled = await call('POST', `/v1/jobs/${started.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(responses.job.parse(cancelled.body)).toMatchObject({ id: started.id, type: 'train', state: 'cancelled' });
    expect((await settle(started.id)).state).toBe('cancelled');
    expect(await trainedVersions()).toEqual(versions);
    expect(await adapterVersions()).toEqual(inRegistry);
    expectError(await call('POST', `/v1/jobs/${started.id}/cancel`), 409, 'conflict');
  });
});

describe('training settings and the policy (PATCH /v1/collections/{name} training)', () => {
  type DriftBody = { policy: { decision: string; reason: string; trigger: string | null; training: Record<string, unknown> } };
  const policyOf = async (name: string) => ((await call('GET', `/v1/collections/${name}/drift`)).body as DriftBody).policy;

  it('refuses bad training settings (400) and changes nothing', async () => {
    for (const training of [
      { kind: 'lora' },
      { auto: 'yes' },
      { min_documents: 0 },
      { min_documents: 2.5 },
      { retrain_growth: -1 },
      { colour: 'red' },
      'auto',
      { fairness: { group_by: '' } },
      { fairness: { group_by: 'kind', margin: -1 } },
      { fairness: 'kind' },
    ]) {
      expectError(await call('PATCH', `/v1/collections/${COL}`, { training }), 400, 'invalid_input');
    }
    expect((await policyOf(COL)).training).toEqual({ auto: false, kind: 'adapter', min_documents: 200, retrain_growth: 1, fairness: null });
  });

  it('merges training settings; the drift view shows them; growth since the last training starts a training job with activate', async () => {
    const name = 'growing';
    expect((await call('POST', '/v1/collections', { name })).status).toBe(201);
    expect((await call('POST', `/v1/collections/${name}/documents`, { documents: DOCS.slice(0, 30) })).status).toBe(200);
    const first = responses.job.parse((await call('POST', `/v1/collections/${name}/train`, { epochs: 1 })).body);
    expect((await settle(first.id)).state).toBe('succeeded');

    expect((await call('PATCH', `/v1/collections/${name}`, { policy: 'auto', training: { auto: true, min_documents: 10 } })).status).toBe(200);
    expect((await call('PATCH', `/v1/collections/${name}`, { training: { retrain_growth: 0.25, fairness: { group_by: 'colour' } } })).status).toBe(200);
    expect((await policyOf(name)).training).toMatchObject({ fairness: { group_by: 'colour', margin: 0.05 } });
    expect((await call('PATCH', `/v1/collections/${name}`, { training: { fairness: null } })).status).toBe(200);
    expect((await policyOf(name)).training).toEqual({ auto: true, kind: 'adapter', min_documents: 10, retrain_growth: 0.25, fairness: null });
    // A margin this wide never refuses: the automatic job below carries the check and its figures.
    expect((await call('PATCH', `/v1/collections/${name}`, { training: { fairness: { group_by: 'kind', margin: 10 } } })).status).toBe(200);
    expect((await policyOf(name)).training).toEqual({ auto: true, kind: 'adapter', min_documents: 10, retrain_growth: 0.25, fairness: { group_by: 'kind', margin: 10 } });
    // 37 of 30 * 1.25 = 37.5 documents: not yet.
    expect((await call('POST', `/v1/collections/${name}/documents`, { documents: DOCS.slice(30, 37) })).status).toBe(200);
    expect((await app.lifecycle.policy.review(name)).decision).toBe('none');

    expect((await call('POST', `/v1/collections/${name}/documents`, { documents: DOCS.slice(37, 40) })).status).toBe(200);
    const assessed = await policyOf(name);
    expect(assessed).toMatchObject({ decision: 'train', trigger: 'growth' });
    const decision = await app.lifecycle.policy.review(name);
    expect(decision.decision, decision.reason).toBe('train');
    expect(decision.reason).toMatch(/40 documents, 25% or more than the 30 of the last training/);
    const jobs = responses.jobList.parse((await call('GET', `/v1/jobs?collection=${name}`)).body).jobs.filter((j) => j.type === 'train');
    expect(jobs).toHaveLength(2);
    const auto = jobs.find((j) => j.id !== first.id)!;
    expect(auto).toMatchObject({ reason: 'growth', params: { kind: 'adapter', activate: true, fairness: { group_by: 'kind', margin: 10 } } });
    const done = await settle(auto.id);
    expect(done.state, done.error ?? '').toBe('succeeded');
    expect(done.gate!.fairness).toMatchObject({ group_by: 'kind', margin: 10, passed: true });
    // Trained on 40 documents: no growth since.
    expect((await app.lifecycle.policy.review(name)).decision).toBe('none');
    // The registry shows where the version comes from.
    const models = responses.modelList.parse((await call('GET', '/v1/models')).body).data;
    expect(models.find((m) => m.id === done.model)?.lineage).toMatchObject({ parent: 'use-lite@1', kind: 'adapter', collection: name, data: { documents: 40 } });
    expect(models.find((m) => m.id === 'use-lite@1')?.lineage).toBeNull();
  });
});
