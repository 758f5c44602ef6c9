/**
 * What the tests of the API's edges share: the check that a response is a well-formed JSON
 * error, and a small seeded collection under tight limits, with the check that a bad request
 * left it (and the server) as it was.
 *
 * The test file passes the function that opens the app (`startTestApp` from helpers/app.ts), so
 * the file itself names helpers/app.ts, which is how vitest.config.ts routes it to `models`.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import type { TestApp } from './app.ts';
import { api, tempDir, type ApiTarget } from './server.ts';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export type Res = Awaited<ReturnType<typeof api>>;

/** `res` is `status` with exactly `{"error": {"code": code, "message": <non-empty>, …}}` as JSON. */
export function expectError(res: Res, status: number, code: string): ErrorBody['error'] {
  const label = JSON.stringify(res.body);
  expect(res.status, label).toBe(status);
  expect(res.headers.get('content-type'), label).toMatch(/^application\/json/);
  const body = res.body as ErrorBody;
  expect(Object.keys(body), label).toEqual(['error']);
  expect(body.error.code, label).toBe(code);
  expect(typeof body.error.message, label).toBe('string');
  expect(body.error.message.length, label).toBeGreaterThan(0);
  return body.error;
}

export const SEED = [
  { id: 'a', text: 'The quick brown fox jumps over the lazy dog.', metadata: { year: 2020, tag: 'animals' } },
  { id: 'b', text: 'A recipe for tomato soup with basil.', metadata: { year: 2021, tag: 'food' } },
  { id: 'c', text: 'Stars and galaxies seen through a telescope.', metadata: { year: 2022, tag: 'space' } },
  { id: 'd', text: 'The team scored a goal in the final minute.', metadata: { year: 2023, tag: 'sports' } },
  { id: 'e', text: 'Compile the code and run the unit tests.', metadata: { year: 2024, tag: 'tech' } },
];

/** Configuration overrides for the seeded app: limits small enough to cross in a test. */
export const LIMITS = { maxTextChars: 200, maxDocsPerRequest: 20, maxBodyBytes: 30_000, maxK: 50 };

export const valid = (id: string) => ({ id, text: `valid document ${id}` });

export type SeededClient = ReturnType<typeof seededClient>;

/** Requests against an app opened with LIMITS, whose collection COL holds SEED (see `seed`). */
export function seededClient(target: ApiTarget) {
  const COL = 'errs';
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => api(target, method, path, body, headers);

  const docCount = async (): Promise<number> => {
    const res = await call('GET', `/v1/collections/${COL}`);
    expect(res.status).toBe(200);
    return (res.body as { document_count: number }).document_count;
  };

  /** The server answers, the collection is as seeded, and a valid search still works. */
  const expectIntact = async (): Promise<void> => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect(await docCount()).toBe(SEED.length);
    const res = await call('POST', `/v1/collections/${COL}/search`, { query: 'fox', mode: 'keyword', k: 5 });
    expect(res.status).toBe(200);
    expect((res.body as { results: { id: string }[] }).results.map((r) => r.id)).toEqual(['a']);
    for (const id of ['new1', 'new2', 'x']) expect((await call('GET', `/v1/collections/${COL}/documents/${id}`)).status).toBe(404);
    const all = await call('POST', `/v1/collections/${COL}/search`, { query: 'anything', k: 50 });
    expect((all.body as { results: { id: string }[] }).results.map((r) => r.id).sort()).toEqual(SEED.map((d) => d.id));
  };

  const upsertRaw = (body: unknown, headers?: Record<string, string>) => call('POST', `/v1/collections/${COL}/documents`, body, headers);
  const searchRaw = (body: unknown, headers?: Record<string, string>) => call('POST', `/v1/collections/${COL}/search`, body, headers);

  /** Creates COL with SEED; returns the embedding of SEED[2] (a valid query vector). */
  const seed = async (): Promise<number[]> => {
    expect((await call('POST', '/v1/collections', { name: COL })).status).toBe(201);
    expect((await upsertRaw({ documents: SEED })).status).toBe(200);
    const emb = await call('POST', '/v1/embeddings', { input: SEED[2]!.text });
    const vector = (emb.body as { data: { embedding: number[] }[] }).data[0]!.embedding;
    expect(vector).toHaveLength(512);
    return vector;
  };

  return { COL, call, docCount, expectIntact, upsertRaw, searchRaw, seed };
}

/**
 * Registers, in the current describe, hooks that open an app (`open`, which should apply LIMITS)
 * in a fresh data directory and seed it. The returned client is usable from the tests on;
 * `vector` is a valid query vector (the embedding of SEED[2], document 'c').
 */
export function useSeededApp(prefix: string, open: (dataDir: string) => Promise<TestApp>): SeededClient & { readonly app: TestApp; readonly vector: number[] } {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  let app: TestApp | undefined;
  let client: SeededClient | undefined;
  let vector: number[] | undefined;
  const ready = (): SeededClient => {
    if (!client) throw new Error('the seeded app is not open (used outside a test?)');
    return client;
  };

  beforeAll(async () => {
    dir = await tempDir(prefix);
    app = await open(dir.path);
    client = seededClient(app);
    vector = await client.seed();
  });

  afterAll(async () => {
    await app?.close();
    await dir?.remove();
  });

  return {
    COL: 'errs',
    get app() {
      if (!app) throw new Error('the seeded app is not open (used outside a test?)');
      return app;
    },
    get vector() {
      if (!vector) throw new Error('the seeded app is not open (used outside a test?)');
      return vector;
    },
    call: (method, path, body, headers) => ready().call(method, path, body, headers),
    docCount: () => ready().docCount(),
    expectIntact: () => ready().expectIntact(),
    upsertRaw: (body, headers) => ready().upsertRaw(body, headers),
    searchRaw: (body, headers) => ready().searchRaw(body, headers),
    seed: () => ready().seed(),
  };
}
