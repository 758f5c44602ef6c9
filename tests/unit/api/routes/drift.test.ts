/**
 * Drift API and lifecycle on a small synthetic collection (no shared datasets needed): settings
 * via PATCH, the reference taken from the first queries seen, validation, the policy starting a
 * real re-embedding job, references following the generation swap, cleanup on delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleIndices } from '../../../../src/lifecycle/drift/stats.ts';
import { mulberry32 } from '../../../../src/util/random.ts';
import { startDriftApp, type DriftApp } from '../../../helpers/drift-app.ts';
import { api, tempDir } from '../../../helpers/server.ts';

const NAME = 'small';

function combos(subjects: string[], verbs: string[], objects: string[]): string[] {
  const out: string[] = [];
  for (const s of subjects) for (const v of verbs) for (const o of objects) out.push(`${s} ${v} ${o}.`);
  // Shuffled (seeded), so any slice mixes every subject, verb and object.
  return sampleIndices(out.length, out.length, mulberry32(out.length)).map((i) => out[i]!);
}

const SPACE = combos(
  ['The telescope', 'An astronaut', 'The rocket', 'A satellite', 'The space probe'],
  ['observed', 'orbited', 'photographed', 'approached'],
  ['a distant galaxy', 'the red planet Mars', 'the rings of Saturn', 'a bright nebula', 'a black hole', 'an exoplanet near a star'],
);
const FOOD = combos(
  ['The chef', 'My grandmother', 'The bakery', 'A street vendor', 'The restaurant'],
  ['cooked', 'baked', 'served', 'seasoned'],
  ['fresh bread with butter', 'a spicy curry', 'a chocolate cake', 'grilled vegetables', 'noodle soup', 'tomato pasta'],
);

interface DriftBody {
  state: string;
  generation: number;
  kinds: Record<'queries' | 'documents', { state: string; windows: number; collecting: number; reference: { count: number; source: string; generation: number; stale: boolean } | null }>;
  metrics: { name: string; kind: string; value: number | null; threshold: number | null; window: { index: number; size: number } }[];
  history: { kind: string; alert: boolean }[];
  config: { queries: { window: number; reference_size: number; centroid_distance: number } };
  policy: { mode: string; decision: string; reason: string; trigger: string | null; active: string; target: string };
}

describe('drift API', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let app: DriftApp;

  const drift = async (): Promise<DriftBody> => {
    await app.drift.flush();
    const res = await api<DriftBody>(app.url, 'GET', `/v1/collections/${NAME}/drift`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const search = async (texts: string[]) => {
    for (const query of texts) expect((await api(app.url, 'POST', `/v1/collections/${NAME}/search`, { query, k: 3 })).status).toBe(200);
  };
  const upsert = async (texts: string[], prefix: string) => {
    for (let i = 0; i < texts.length; i += 10) {
      const documents = texts.slice(i, i + 10).map((text, j) => ({ id: `${prefix}-${i + j}`, text }));
      expect((await api(app.url, 'POST', `/v1/collections/${NAME}/documents`, { documents })).status).toBe(200);
    }
  };

  beforeAll(async () => {
    data = await tempDir('sextant-drift-api-');
    app = await startDriftApp(data.path);
    expect((await api(app.url, 'POST', '/v1/collections', { name: NAME })).status).toBe(201);
  });
  afterAll(async () => {
    await app?.close();
    await data?.remove();
  });

  it('takes per-collection settings and validates them', async () => {
    const patched = await api<{ config: DriftBody['config'] }>(app.url, 'PATCH', `/v1/collections/${NAME}/drift`, {
      queries: { window: 5, reference_size: 10, centroid_distance: 0.25 },
      documents: { window: 20, reference_size: 60, min_reference: 30, centroid_distance: 0.25 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.config.queries).toMatchObject({ window: 5, reference_size: 10, centroid_distance: 0.25 });
    // A second patch merges.
    expect((await api(app.url, 'PATCH', `/v1/collections/${NAME}/drift`, { persist: 2 })).status).toBe(200);
    expect((await drift()).config.queries.window).toBe(5);
    expect((await api(app.url, 'PATCH', `/v1/collections/${NAME}/drift`, { queries: { window: 0 } })).status).toBe(400);
    expect((await api(app.url, 'PATCH', `/v1/collections/${NAME}/drift`, { bogus: 1 })).status).toBe(400);
    expect((await api(app.url, 'GET', '/v1/collections/nope/drift')).status).toBe(404);
    expect((await api(app.url, 'POST', `/v1/collections/${NAME}/drift/reference`, {})).status).toBe(400);
    expect((await api(app.url, 'POST', `/v1/collections/${NAME}/drift/reference`, { queries: ['one'] })).status).toBe(400);
    expect((await api(app.url, 'GET', `/v1/collections/${NAME}/drift?history=x`)).status).toBe(400);
  });

  it('samples a document reference once the collection is big enough, and flags off-topic documents', async () => {
    await upsert(SPACE.slice(0, 20), 'space');
    expect((await drift()).kinds.documents.reference).toBeNull(); // 20 < min_reference 30: still the reference-to-be
    await upsert(SPACE.slice(20, 80), 'space');
    let body = await drift();
    expect(body.kinds.documents.reference).toMatchObject({ source: 'sampled', count: 30 });
    expect(body.kinds.documents.state).toBe('ok');
    await upsert(FOOD.slice(0, 60), 'food');
    body = await drift();
    expect(body.kinds.documents.state).toBe('drifted');
  });

  it('takes the query reference from the first queries seen, then evaluates windows', async () => {
    await search(SPACE.slice(80, 90));
    let body = await drift();
    expect(body.kinds.queries.reference).toMatchObject({ source: 'observed', count: 10 });
    await search(SPACE.slice(90, 100));
    body = await drift();
    expect(body.kinds.queries.windows).toBe(2);
    expect(body.kinds.queries.state).toBe('ok');
    await search(FOOD.slice(60, 70));
    body = await drift();
    expect(body.kinds.queries.state).toBe('drifted');
    expect(body.metrics.find((m) => m.kind === 'queries' && m.name === 'centroid_distance')!.window.size).toBe(5);
    expect(body.policy).toMatchObject({ decision: 'new_model_needed', mode: 'notify' });
  });

  it('a supplied reference starts the query state over', async () => {
    const res = await api<{ references: { source: string; count: number }[] }>(app.url, 'POST', `/v1/collections/${NAME}/drift/reference`, {
      queries: FOOD.slice(70, 80),
    });
    expect(res.status).toBe(200);
    expect(res.body.references).toMatchObject([{ source: 'supplied', count: 10 }]);
    await search(FOOD.slice(80, 90));
    const body = await drift();
    expect(body.kinds.queries.state).toBe('ok');
  });

  it('auto policy re-embeds to a moved target; references follow the new generation', async () => {
    // The collection now holds both topics: make that the document baseline, so only the target moved.
    const resampled = await api<{ references: { kind: string; source: string }[] }>(app.url, 'POST', `/v1/collections/${NAME}/drift/reference`, { documents: true });
    expect(resampled.status).toBe(200);
    expect(resampled.body.references).toMatchObject([{ kind: 'documents', source: 'sampled' }]);
    expect((await drift()).state).toBe('ok');
    const patched = await api(app.url, 'PATCH', `/v1/collections/${NAME}`, { target: 'use-lite@1-int8', policy: 'auto' });
    expect(patched.status).toBe(200);
    const before = await drift();
    expect(before.policy).toMatchObject({ mode: 'auto', decision: 'reembed', trigger: 'target-changed', target: 'use-lite@1-int8', active: 'use-lite@1' });

    const decision = await app.policy.review(NAME);
    expect(decision.decision).toBe('reembed');
    const jobs = (await api<{ jobs: { id: string; reason: string; state: string }[] }>(app.url, 'GET', `/v1/jobs?collection=${NAME}`)).body.jobs;
    expect(jobs[0]).toMatchObject({ reason: 'target-changed' });
    expect((await app.policy.review(NAME)).decision).toBe('suppressed');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = (await api<{ state: string }>(app.url, 'GET', `/v1/jobs/${jobs[0]!.id}`)).body;
      if (job.state === 'succeeded') break;
      expect(['queued', 'running']).toContain(job.state);
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }

    let body = await drift();
    expect(body.kinds.queries.reference?.stale).toBe(true);
    await search(FOOD.slice(90, 91)); // the first query on the new generation re-embeds the supplied texts
    body = await drift();
    expect(body.kinds.queries.reference).toMatchObject({ source: 'supplied', count: 10, generation: body.generation, stale: false });
    expect(body.policy).toMatchObject({ active: 'use-lite@1-int8', target: 'use-lite@1-int8' });
    await upsert(FOOD.slice(91, 101), 'food2'); // the first batch on the new generation samples a new document reference
    body = await drift();
    expect(body.kinds.documents.reference).toMatchObject({ source: 'sampled', generation: body.generation });
    expect(body.kinds.documents.state).toBe('ok');
  });

  it('deleting the collection removes its drift rows', async () => {
    expect((await api(app.url, 'DELETE', `/v1/collections/${NAME}`)).status).toBe(200);
    const store = app.service.context.store;
    expect(store.getDriftReference(NAME, 'queries')).toBeUndefined();
    expect(store.getDriftReference(NAME, 'documents')).toBeUndefined();
    expect(store.listDriftHistory(NAME)).toEqual([]);
    // A new collection of the same name starts from nothing.
    expect((await api(app.url, 'POST', '/v1/collections', { name: NAME })).status).toBe(201);
    const body = await drift();
    expect(body.state).toBe('ok');
    expect(body.kinds.queries.reference).toBeNull();
    expect(body.history).toEqual([]);
  });
});
