/**
 * The typed client (`sextant/client`) against a real server: it covers every route of
 * /openapi.json, every response parses with the schema its type comes from, errors carry the
 * server's code, and retries, timeouts and aborts behave.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  AbortedApiError,
  BackendUnavailableApiError,
  CollectionExistsApiError,
  CollectionNotFoundApiError,
  ConflictApiError,
  ConnectionApiError,
  DocumentNotFoundApiError,
  ERROR_CLASSES,
  ForbiddenApiError,
  InvalidInputApiError,
  InvalidVectorApiError,
  NotFoundApiError,
  RateLimitedApiError,
  retryAfterMs,
  ROUTES,
  SextantApiError,
  SextantClient,
  TimeoutApiError,
  UnauthorizedApiError,
  apiError,
  type Job,
} from 'sextant/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_ERROR_CODES } from '../../../src/api/errors.ts';
import * as responses from '../../../src/api/responses.ts';
import type { RunningServer } from '../../../src/api/server.ts';
import { SextantError } from '../../../src/errors.ts';
import { writeTinyBert } from '../../../scripts/make-tiny-bert.ts';
import { startTestServer, tempDir } from '../../helpers/server.ts';

const KEYS = 'reader-key:read,writer-key:write,admin-key:admin';
const DOCS = [
  { id: 'd1', title: 'Wings', text: 'Supersonic flutter of thin wings and panels', metadata: { topic: 'aero', year: 1960 } },
  { id: 'd2', text: 'Boundary layer transition on a flat plate at high speed', metadata: { topic: 'aero', year: 1972 } },
  { id: 'd3', text: 'Retrieval of scientific documents by their citations', metadata: { topic: 'library', year: 1980 } },
  { id: 'd4', text: 'A catalogue of library classification schemes', metadata: { topic: 'library', year: 1965 } },
];

let server: RunningServer;
let dir: { path: string; remove(): Promise<void> };
let admin: SextantClient;
let dataset: string;

beforeAll(async () => {
  dir = await tempDir('sextant-client-');
  // A private copy of the models: these tests import a model and set an alias, which must not
  // leak into the models directory other test files share.
  const modelsDir = join(dir.path, 'models');
  await cp(inject('modelsDir'), modelsDir, { recursive: true });
  server = await startTestServer({ dataDir: join(dir.path, 'data'), modelsDir, apiKeys: KEYS });
  admin = new SextantClient({ url: server.url, apiKey: 'admin-key' });
  // A tiny BEIR folder over DOCS for eval, tune and the evaluation set.
  dataset = join(dir.path, 'beir');
  await mkdir(dataset, { recursive: true });
  await writeFile(
    join(dataset, 'queries.jsonl'),
    ['{"_id":"q1","text":"flutter of wings at supersonic speed"}', '{"_id":"q2","text":"classification of libraries"}'].join('\n'),
  );
  await writeFile(join(dataset, 'qrels.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td4\t1\n');
  // The collection the other tests read (each test runs alone, so none may rely on another's writes).
  await admin.createCollection({ name: 'papers' });
  await admin.upsertDocuments('papers', DOCS);
});

afterAll(async () => {
  await server?.close();
  await dir?.remove();
});

const pathOf = (honoPath: string): string => honoPath.replace(/:(\w+)/g, '{$1}');

describe('coverage', () => {
  it('the client has one method per operation of /openapi.json, and the server serves exactly those routes', async () => {
    const doc = (await admin.openapi()) as { paths: Record<string, Record<string, { operationId?: string }>> };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => `${op.operationId} ${method.toUpperCase()} ${path}`),
    );
    const client = Object.entries(ROUTES).map(([id, [method, path]]) => `${id} ${method} ${path}`);
    expect(client.sort()).toEqual(documented.sort());
    for (const id of Object.keys(ROUTES)) expect(typeof (admin as unknown as Record<string, unknown>)[id], id).toBe('function');

    // /ui serves the web console's files (src/api/console), not API operations.
    const served = new Set(server.app.routes.filter((r) => r.method !== 'ALL' && !r.path.startsWith('/ui')).map((r) => `${r.method} ${pathOf(r.path)}`));
    expect([...served].sort()).toEqual(Object.values(ROUTES).map(([m, p]) => `${m} ${p}`).sort());
  });

  it('one error class per API error code', () => {
    for (const code of API_ERROR_CODES) {
      const Class = ERROR_CLASSES[code];
      expect(Class, code).toBeDefined();
      const err = apiError(418, code, 'm', { a: 1 });
      expect(err).toBeInstanceOf(Class!);
      expect(err).toBeInstanceOf(SextantApiError);
      expect(err).toBeInstanceOf(SextantError);
      expect([err.status, err.code, err.details]).toEqual([418, code, { a: 1 }]);
    }
    // Classes are distinct: a 404 for a collection is not a 404 for a document.
    expect(apiError(404, 'collection_not_found', 'm')).not.toBeInstanceOf(DocumentNotFoundApiError);
    const unknown = apiError(599, 'brand_new_code', 'm');
    expect(unknown.constructor).toBe(SextantApiError);
    expect(unknown.code).toBe('brand_new_code');
  });
});

describe('every operation against a real server', () => {
  it('service, embeddings and models', async () => {
    expect(responses.health.parse(await admin.health()).status).toBe('ok');
    expect(responses.readiness.parse(await admin.ready()).status).toBe('ready');
    expect(await admin.metrics()).toContain('# TYPE sextant_http_requests_total counter');
    const embedded = responses.embeddingsResponse.parse(await admin.embed({ input: ['one', 'two'], input_type: 'query' }));
    expect(embedded.data.map((d) => (d.embedding as number[]).length)).toEqual([512, 512]);
    const b64 = await admin.embed({ input: 'one', encoding_format: 'base64' });
    expect(typeof b64.data[0]!.embedding).toBe('string');

    const models = responses.modelList.parse(await admin.listModels());
    expect(models.data.map((m) => m.id)).toContain('use-lite@1');
    const folder = join(dir.path, 'tiny-bert');
    await writeTinyBert(folder, { seed: 3 });
    const imported = responses.importedModel.parse(await admin.importModel({ path: folder, name: 'tiny', matryoshka: [16] }));
    expect(imported.id).toBe('tiny@1');
    const cut = await admin.embed({ input: 'x', model: 'tiny@1', dimensions: 16 });
    expect((cut.data[0]!.embedding as number[]).length).toBe(16);
    expect(responses.alias.parse(await admin.setAlias('small', 'tiny@1'))).toEqual({ alias: 'small', target: 'tiny@1' });
    const again = await admin.importModel({ path: folder, name: 'bad', matryoshka: [100_000] }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(InvalidInputApiError);
    expect((await admin.listModels()).data.map((m) => m.id)).not.toContain('bad@1');
  });

  it('collections, documents and search', async () => {
    const created = responses.collection.parse(await admin.createCollection({ name: 'library', hybrid_alpha: 0.4 }));
    expect([created.name, created.model, created.document_count]).toEqual(['library', 'use-lite@1', 0]);
    await expect(admin.createCollection({ name: 'library' })).rejects.toBeInstanceOf(CollectionExistsApiError);
    expect(responses.upsertResult.parse(await admin.upsertDocuments('library', DOCS))).toEqual({ upserted: 4, unchanged: 0, count: 4 });
    expect(responses.collection.parse(await admin.getCollection('library')).document_count).toBe(4);
    expect(responses.collectionList.parse(await admin.listCollections()).collections.map((c) => c.name)).toEqual(['library', 'papers']);
    expect(responses.collection.parse(await admin.updateCollection('library', { hybrid_alpha: 0.5 })).hybrid_alpha).toBe(0.5);

    const doc = responses.document.parse(await admin.getDocument('library', 'd1'));
    expect([doc.title, doc.metadata]).toEqual(['Wings', { topic: 'aero', year: 1960 }]);
    const dense = responses.searchResponse.parse(await admin.search('library', { query: 'wing flutter', k: 2, include_text: true }));
    expect(dense.results[0]!.id).toBe('d1');
    expect(dense.results[0]!.text).toBe(DOCS[0]!.text);
    const filtered = await admin.search('library', { mode: 'hybrid', query: 'library documents', filter: { topic: 'library', year: { $gt: 1970 } }, explain: true });
    expect(filtered.results.map((r) => r.id)).toEqual(['d3']);
    expect(filtered.results[0]!.explain?.alpha).toBe(0.5);
    const keyword = await admin.search('library', { mode: 'keyword', query: 'catalogue' });
    expect(keyword.results.map((r) => r.id)).toEqual(['d4']);

    // A supplied vector is stored as sent (normalised) for the live generation.
    const vector = (await admin.embed({ input: 'an unrelated text about cooking pasta' })).data[0]!.embedding as number[];
    const scaled = vector.map((x) => x * 3);
    expect((await admin.upsertDocuments('library', [{ id: 'v1', text: 'stored with its own vector', vector: scaled }])).upserted).toBe(1);
    const byVector = await admin.search('library', { vector, k: 1 });
    expect(byVector.results[0]!.id).toBe('v1');
    expect(byVector.results[0]!.score).toBeCloseTo(1, 5);
    // The same text with another vector is a change; the same vector again is not.
    expect((await admin.upsertDocuments('library', [{ id: 'v1', text: 'stored with its own vector', vector: scaled }])).unchanged).toBe(1);
    await expect(admin.upsertDocuments('library', [{ id: 'v2', text: 't', vector: [1, 2, 3] }])).rejects.toBeInstanceOf(InvalidVectorApiError);
    await expect(admin.getDocument('library', 'v2')).rejects.toBeInstanceOf(DocumentNotFoundApiError);

    expect(responses.deletedDocuments.parse(await admin.deleteDocument('library', 'v1'))).toEqual({ deleted: 1, ids: ['v1'] });
    await admin.upsertDocuments('library', [{ id: 'tmp1', text: 'temporary one', metadata: { topic: 'tmp' } }, { id: 'tmp2', text: 'temporary two', metadata: { topic: 'tmp' } }]);
    expect((await admin.deleteDocuments('library', { filter: { topic: 'tmp' } })).ids.sort()).toEqual(['tmp1', 'tmp2']);
    await admin.upsertDocuments('library', [{ id: 'tmp3', text: 'temporary three' }]);
    expect(await admin.deleteDocuments('library', { ids: ['tmp3', 'never'] })).toEqual({ deleted: 1, ids: ['tmp3'] });
  });

  it('drift, evaluation, tuning and the evaluation set', async () => {
    const drift = responses.driftStatus.parse(await admin.getDrift('papers', { history: 5 }));
    expect(drift.state).toBe('ok');
    expect(responses.driftConfig.parse(await admin.updateDriftSettings('papers', { queries: { window: 30 } })).config).toMatchObject({ queries: { window: 30 } });
    const refs = responses.driftReferences.parse(await admin.setDriftReference('papers', { queries: ['wing flutter', 'library catalogue', 'boundary layers'] }));
    expect(refs.references[0]).toMatchObject({ kind: 'queries', source: 'supplied', count: 3 });

    const report = responses.evalReport.parse(await admin.evaluate('papers', { dataset, modes: ['dense', 'keyword'] }));
    expect(report.queries).toBe(2);
    expect(report.modes.dense!['ndcg@10']).toBeGreaterThan(0);
    const tuned = responses.tuneResult.parse(await admin.tune('papers', { dataset, dry_run: true }));
    expect(tuned.stored).toBe(false);
    await expect(admin.getEvalSet('papers')).rejects.toBeInstanceOf(NotFoundApiError);
    expect(responses.evalSet.parse(await admin.setEvalSet('papers', { dataset, margin: 0.05 })).margin).toBe(0.05);
    expect((await admin.getEvalSet('papers')).dataset).toBe(dataset);
    expect(responses.evalSetDeleted.parse(await admin.deleteEvalSet('papers'))).toEqual({ deleted: true });
  });

  it('re-embedding jobs and rollback', async () => {
    const started = responses.job.parse(await admin.reembed('papers', { model: 'use-lite@1' }));
    let job: Job = started;
    while (job.state === 'queued' || job.state === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      job = responses.job.parse(await admin.getJob(started.id));
    }
    expect(job.state).toBe('succeeded');
    expect(responses.jobList.parse(await admin.listJobs({ collection: 'papers' })).jobs.map((j) => j.id)).toContain(started.id);
    expect((await admin.listJobs({ collection: 'nothing-here' })).jobs).toEqual([]);
    const cancelled = await admin.cancelJob(started.id).catch((e: unknown) => e);
    expect(cancelled).toBeInstanceOf(ConflictApiError);
    expect((cancelled as ConflictApiError).message).toContain('already succeeded');
    const rolled = responses.collection.parse(await admin.rollback('papers'));
    expect(job.previous_generation).not.toBeNull();
    expect(rolled.generation).toBe(job.previous_generation);
  });

  it('train: a bad request is refused, a training job starts and can be cancelled', async () => {
    const bad = await admin.train('papers', { epochs: 0 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Error);
    const started = responses.job.parse(await admin.train('papers', { epochs: 1 }));
    expect(started.type).toBe('train');
    expect(responses.job.parse(await admin.getJob(started.id)).type).toBe('train');
    await admin.cancelJob(started.id).catch(() => undefined); // may have finished already
    let job: Job = started;
    while (job.state === 'queued' || job.state === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      job = responses.job.parse(await admin.getJob(started.id));
    }
    expect(['succeeded', 'cancelled', 'failed']).toContain(job.state); // 4 documents: training may refuse them
  });

  it('feedback: addFeedback, listFeedback, deleteFeedback', async () => {
    await admin.createCollection({ name: 'judged' });
    await admin.upsertDocuments('judged', DOCS);
    const items = [
      { query: 'wing flutter', relevant: ['d1'], not_relevant: ['d3'] },
      { query: 'library catalogue', relevant: ['d4', 'd3'] },
      { query: 'boundary layers', relevant: ['d2'] },
    ];
    expect(responses.feedbackStored.parse(await admin.addFeedback('judged', items))).toEqual({ stored: 3 });
    const first = responses.feedbackList.parse(await admin.listFeedback('judged', { limit: 2 }));
    expect([first.count, first.items.map((i) => i.query), first.items[1]!.not_relevant]).toEqual([3, ['wing flutter', 'library catalogue'], []]);
    const rest = await admin.listFeedback('judged', { limit: 2, after: first.next! });
    expect([rest.items.map((i) => i.query), rest.next]).toEqual([['boundary layers'], null]);
    const unknown = (await admin.addFeedback('judged', [{ query: 'q', relevant: ['nope'] }]).catch((e: unknown) => e)) as InvalidInputApiError;
    expect(unknown).toBeInstanceOf(InvalidInputApiError);
    expect(unknown.details).toMatchObject({ unknown_ids: ['nope'] });
    expect(responses.feedbackDeleted.parse(await admin.deleteFeedback('judged'))).toEqual({ deleted: 3 });
    expect((await admin.listFeedback('judged')).count).toBe(0);
    await admin.deleteCollection('judged');
  });

  it('console reads: whoami, listDocuments, listGenerations, lastEvaluation', async () => {
    expect(responses.whoami.parse(await admin.whoami())).toEqual({ authenticated: true, principal: 'key3', role: 'admin' });
    expect(await new SextantClient({ url: server.url, apiKey: 'reader-key' }).whoami()).toEqual({ authenticated: true, principal: 'key1', role: 'read' });
    expect(await new SextantClient({ url: server.url, apiKey: 'not-a-key-of-this-server' }).whoami()).toEqual({ authenticated: false, message: 'invalid API key' });
    await admin.createCollection({ name: 'console' });
    await admin.upsertDocuments('console', DOCS);
    const first = responses.documentList.parse(await admin.listDocuments('console', { limit: 3 }));
    expect([first.count, first.items.map((d) => d.id), first.next]).toEqual([4, ['d1', 'd2', 'd3'], 'd3']);
    const rest = await admin.listDocuments('console', { limit: 3, after: first.next! });
    expect([rest.items.map((d) => d.id), rest.next]).toEqual([['d4'], null]);
    const generations = responses.generationList.parse(await admin.listGenerations('console'));
    expect([generations.generations.map((g) => g.id), generations.rollback_to]).toEqual([[generations.live], null]);
    expect(await admin.lastEvaluation('console')).toEqual({ evaluation: null });
    const report = await admin.evaluate('console', { dataset, modes: ['dense'] });
    const last = await admin.lastEvaluation('console');
    expect(responses.lastEvaluation.parse(last).evaluation?.queries).toBe(2);
    expect(last.evaluation).toEqual({ ...report, evaluated_at: expect.any(String) });
    await admin.deleteCollection('console');
  });

  it('deleteCollection', async () => {
    await admin.createCollection({ name: 'scratch' });
    expect(responses.deletedCollection.parse(await admin.deleteCollection('scratch'))).toEqual({ deleted: 'scratch' });
    await expect(admin.getCollection('scratch')).rejects.toBeInstanceOf(CollectionNotFoundApiError);
  });
});

describe('errors carry the server code, status and details', () => {
  it('404, 400 with details, 401 and 403', async () => {
    const missing = (await admin.getCollection('nope').catch((e: unknown) => e)) as CollectionNotFoundApiError;
    expect(missing).toBeInstanceOf(CollectionNotFoundApiError);
    expect([missing.status, missing.code]).toEqual([404, 'collection_not_found']);
    expect(missing.message).toContain("'nope'");

    const bad = (await admin.search('papers', { query: 'x', k: 0 }).catch((e: unknown) => e)) as InvalidInputApiError;
    expect(bad).toBeInstanceOf(InvalidInputApiError);
    expect(bad.status).toBe(400);
    expect(bad.details).toMatchObject({ issues: [{ path: 'k' }] });

    const stranger = new SextantClient({ url: server.url, apiKey: 'wrong' });
    const unauthorized = (await stranger.listCollections().catch((e: unknown) => e)) as UnauthorizedApiError;
    expect(unauthorized).toBeInstanceOf(UnauthorizedApiError);
    expect(unauthorized.status).toBe(401);
    const reader = new SextantClient({ url: server.url, apiKey: 'reader-key' });
    const forbidden = (await reader.deleteCollection('papers').catch((e: unknown) => e)) as ForbiddenApiError;
    expect(forbidden).toBeInstanceOf(ForbiddenApiError);
    expect([forbidden.status, forbidden.code]).toEqual([403, 'forbidden']);
    expect((await reader.getCollection('papers')).name).toBe('papers');
  });

  it('client-side failures: unreachable, timeout, abort, bad URL', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const unreachable = await new SextantClient({ url: `http://127.0.0.1:${port}` }).health().catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(ConnectionApiError);
    expect((unreachable as ConnectionApiError).status).toBe(0);

    // A server that accepts requests and never answers.
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const timedOut = await new SextantClient({ url: silentUrl, timeoutMs: 200 }).health().catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(TimeoutApiError);
      const controller = new AbortController();
      const pending = new SextantClient({ url: silentUrl, timeoutMs: 0 }).health({ signal: controller.signal }).catch((e: unknown) => e);
      setTimeout(() => controller.abort(), 50);
      expect(await pending).toBeInstanceOf(AbortedApiError);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
    expect(() => new SextantClient({ url: 'not a url' })).toThrow(/not a valid URL/);
  });

  it('refuses negative, fractional or non-numeric timeouts and retries instead of ignoring them', async () => {
    const url = 'http://127.0.0.1:1';
    expect(() => new SextantClient({ url, timeoutMs: -1 })).toThrow(/timeoutMs must be a number >= 0, got -1/);
    expect(() => new SextantClient({ url, timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
    expect(() => new SextantClient({ url, retries: -2 })).toThrow(/retries must be a number >= 0, got -2/);
    expect(() => new SextantClient({ url, retries: 1.5 })).toThrow(/retries must be a whole number/);
    expect(() => new SextantClient({ url, retryBaseMs: -5 })).toThrow(/retryBaseMs/);
    expect(() => new SextantClient({ url, maxRetryDelayMs: Number.POSITIVE_INFINITY })).toThrow(/maxRetryDelayMs/);
    await expect(new SextantClient({ url }).health({ timeoutMs: -10 })).rejects.toThrow(/timeoutMs must be a number >= 0, got -10/);
    expect(() => new SextantClient({ url, timeoutMs: 0, retries: 0 })).not.toThrow();
  });
});

describe('retries', () => {
  it('Retry-After: seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('0')).toBe(0);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 7_000)).toBe(3000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('429 from the real rate limiter: waits Retry-After and succeeds; without retries the error carries it', async () => {
    const limited = await startTestServer({ dataDir: join(dir.path, 'limited'), rateLimit: 1 });
    try {
      const attempts: number[] = [];
      const statuses: number[] = [];
      const client = new SextantClient({
        url: limited.url,
        retries: 3,
        fetch: async (input, init) => {
          attempts.push(performance.now());
          const res = await fetch(input, init);
          statuses.push(res.status);
          return res;
        },
      });
      // A burst of 2 is allowed at 1 request/s; the third is refused with Retry-After: 1.
      for (let i = 0; i < 3; i++) expect((await client.listCollections()).collections).toEqual([]);
      const refused = statuses.indexOf(429);
      expect(refused).toBeGreaterThanOrEqual(0);
      expect(statuses.at(-1)).toBe(200);
      // The retry waited at least the Retry-After second (a lower bound: timers never fire early).
      expect(attempts[refused + 1]! - attempts[refused]!).toBeGreaterThanOrEqual(990);

      const impatient = new SextantClient({ url: limited.url, retries: 0 });
      let error: unknown;
      for (let i = 0; i < 4 && !error; i++) error = await impatient.listCollections().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimitedApiError);
      expect((error as RateLimitedApiError).status).toBe(429);
      expect((error as RateLimitedApiError).details).toMatchObject({ retry_after_seconds: expect.any(Number) });

      // An abort while waiting to retry ends the call at once.
      const controller = new AbortController();
      const waiting = impatient.listCollections().catch(() => undefined); // use up the bucket
      await waiting;
      const patient = new SextantClient({ url: limited.url, retries: 5 });
      const aborted = patient.listCollections({ signal: controller.signal }).catch((e: unknown) => e);
      setTimeout(() => controller.abort(), 100);
      expect(await aborted).toBeInstanceOf(AbortedApiError);
    } finally {
      await limited.close();
    }
  });

  it('503: retried with backoff, then the typed error when it persists', async () => {
    const unavailable = () =>
      new Response(JSON.stringify({ error: { code: 'backend_unavailable', message: 'index unreachable' } }), { status: 503, headers: { 'content-type': 'application/json' } });
    let calls = 0;
    const flaky = new SextantClient({
      url: server.url,
      apiKey: 'admin-key',
      retries: 2,
      retryBaseMs: 10,
      fetch: async (input, init) => (++calls <= 2 ? unavailable() : fetch(input, init)),
    });
    expect((await flaky.getCollection('papers')).name).toBe('papers');
    expect(calls).toBe(3);

    calls = 0;
    const down = new SextantClient({ url: server.url, retries: 2, retryBaseMs: 10, fetch: async () => (calls++, unavailable()) });
    const err = await down.health().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableApiError);
    expect((err as BackendUnavailableApiError).status).toBe(503);
    expect(calls).toBe(3);

    // Other errors are not retried.
    calls = 0;
    const counting = new SextantClient({ url: server.url, apiKey: 'admin-key', retries: 2, fetch: async (input, init) => (calls++, fetch(input, init)) });
    await expect(counting.getCollection('nope')).rejects.toBeInstanceOf(CollectionNotFoundApiError);
    expect(calls).toBe(1);
  });
});
