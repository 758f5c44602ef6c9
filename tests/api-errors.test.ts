/**
 * The HTTP API's edges: every bad request gets a 4xx JSON error, leaves the server healthy and
 * writes nothing; authentication and roles; rate limiting and overload (429 + Retry-After);
 * refusing a public bind without keys; readiness, metrics and the OpenAPI document.
 */
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/api/server.ts';
import { loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { api, startTestServer, tempDir } from './helpers/server.ts';

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

type Res = Awaited<ReturnType<typeof api>>;

function expectError(res: Res, status: number, code: string): ErrorBody['error'] {
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

const SEED = [
  { id: 'a', text: 'The quick brown fox jumps over the lazy dog.', metadata: { year: 2020, tag: 'animals' } },
  { id: 'b', text: 'A recipe for tomato soup with basil.', metadata: { year: 2021, tag: 'food' } },
  { id: 'c', text: 'Stars and galaxies seen through a telescope.', metadata: { year: 2022, tag: 'space' } },
  { id: 'd', text: 'The team scored a goal in the final minute.', metadata: { year: 2023, tag: 'sports' } },
  { id: 'e', text: 'Compile the code and run the unit tests.', metadata: { year: 2024, tag: 'tech' } },
];

const LIMITS = { maxTextChars: 200, maxDocsPerRequest: 20, maxBodyBytes: 30_000, maxK: 50 };

describe('bad requests', () => {
  let server: RunningServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let base: string;
  const COL = 'errs';
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => api(base, method, path, body, headers);

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

  const upsertRaw = (body: unknown) => call('POST', `/v1/collections/${COL}/documents`, body);
  const searchRaw = (body: unknown) => call('POST', `/v1/collections/${COL}/search`, body);
  const valid = (id: string) => ({ id, text: `valid document ${id}` });

  let vector: number[];

  beforeAll(async () => {
    dir = await tempDir('sextant-api-errors-');
    server = await startTestServer({ dataDir: dir.path, ...LIMITS });
    base = server.url;
    expect((await call('POST', '/v1/collections', { name: COL })).status).toBe(201);
    expect((await upsertRaw({ documents: SEED })).status).toBe(200);
    const emb = await call('POST', '/v1/embeddings', { input: SEED[2]!.text });
    vector = (emb.body as { data: { embedding: number[] }[] }).data[0]!.embedding;
    expect(vector).toHaveLength(512);
  });

  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  it('malformed JSON, empty and non-object bodies', async () => {
    for (const raw of ['{"documents": [', '{documents: []}', "{'a': 1}", 'not json', '{"documents": []} trailing']) {
      const err = expectError(await upsertRaw(raw), 400, 'invalid_input');
      expect(err.message).toContain('not valid JSON');
      expectError(await searchRaw(raw), 400, 'invalid_input');
      expectError(await call('POST', '/v1/collections', raw), 400, 'invalid_input');
      expectError(await call('POST', '/v1/embeddings', raw), 400, 'invalid_input');
    }
    expectError(await upsertRaw(''), 400, 'invalid_input');
    expectError(await call('POST', `/v1/collections/${COL}/documents`), 400, 'invalid_input');
    for (const raw of ['null', '[]', '42', '"text"', 'true']) {
      expectError(await upsertRaw(raw), 400, 'invalid_input');
      expectError(await searchRaw(raw), 400, 'invalid_input');
    }
    await expectIntact();
  });

  it('wrong types', async () => {
    const k = expectError(await searchRaw({ query: 'fox', k: 'ten' }), 400, 'invalid_input');
    expect(k.details).toEqual({ issues: [expect.objectContaining({ path: 'k' })] });
    expectError(await searchRaw({ query: 'fox', k: 2.5 }), 400, 'invalid_input');
    expectError(await searchRaw({ query: 'fox', k: 0 }), 400, 'invalid_input');
    expectError(await searchRaw({ query: 'fox', k: -1 }), 400, 'invalid_input');
    expectError(await searchRaw({ query: 42 }), 400, 'invalid_input');
    expectError(await searchRaw({ query: 'fox', mode: 'semantic' }), 400, 'invalid_input');
    expectError(await searchRaw({ query: 'fox', include_text: 'yes' }), 400, 'invalid_input');
    expectError(await searchRaw({ vector: 'not a vector' }), 400, 'invalid_input');
    expectError(await searchRaw({ vector: [1, '2', 3] }), 400, 'invalid_input');
    expectError(await searchRaw({ query: 'fox', ef: 0 }), 400, 'invalid_input');
    const docs = expectError(await upsertRaw({ documents: {} }), 400, 'invalid_input');
    expect(docs.details).toEqual({ issues: [expect.objectContaining({ path: 'documents' })] });
    expectError(await upsertRaw({ documents: [] }), 400, 'invalid_input');
    expectError(await upsertRaw({ documents: [valid('new1'), { id: 'new2', text: 7 }] }), 400, 'invalid_input');
    expectError(await upsertRaw({ documents: [valid('new1'), { id: 5, text: 'numeric id' }] }), 400, 'invalid_input');
    expectError(await upsertRaw({ documents: [valid('new1'), { id: '', text: 'empty id' }] }), 400, 'invalid_input');
    expectError(await upsertRaw({ documents: [valid('new1'), { id: 'new2', text: 'x', metadata: ['a'] }] }), 400, 'invalid_input');
    expectError(await upsertRaw({ documents: [valid('new1'), { id: 'new2', text: 'x', metadata: 'a' }] }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/collections', { name: 42 }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/collections', { name: 'okname', backend: 'faiss' }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/collections', { name: 'okname', hnsw: { M: 'big' } }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/embeddings', { input: 42 }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/embeddings', { input: [] }), 400, 'invalid_input');
    expectError(await call('POST', `/v1/collections/${COL}/documents/delete`, { ids: 'a' }), 400, 'invalid_input');
    expectError(await call('POST', `/v1/collections/${COL}/documents/delete`, {}), 400, 'invalid_input');
    expectError(await call('POST', `/v1/collections/${COL}/documents/delete`, { ids: [] }), 400, 'invalid_input');
    expect((await call('GET', '/v1/collections')).body).toEqual({ collections: [expect.objectContaining({ name: COL })] });
    await expectIntact();
  });

  it('unknown fields', async () => {
    const search = expectError(await searchRaw({ query: 'fox', top_k: 3 }), 400, 'invalid_input');
    expect(search.message).toContain('top_k');
    expectError(await upsertRaw({ documents: [valid('new1')], namespace: 'x' }), 400, 'invalid_input');
    const doc = expectError(await upsertRaw({ documents: [valid('new1'), { ...valid('new2'), embedding: [1, 2] }] }), 400, 'invalid_input');
    expect(doc.message).toContain('embedding');
    // A supplied vector must fit the live model.
    const vec = expectError(await upsertRaw({ documents: [valid('new1'), { ...valid('new2'), vector: [1, 2] }] }), 400, 'invalid_vector');
    expect(vec.message).toContain('documents[1].vector has 2 dimensions');
    expectError(await upsertRaw({ documents: [{ ...valid('new2'), vector: new Array(512).fill(0) }] }), 400, 'invalid_vector');
    expectError(await upsertRaw({ documents: [{ ...valid('new2'), vector: ['x'] }] }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/collections', { name: 'okname', dims: 3 }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/collections', { name: 'okname', hnsw: { M: 16, ef: 10 } }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/embeddings', { input: 'x', user: 'me', truncate: true }), 400, 'invalid_input');
    expectError(await call('POST', `/v1/collections/${COL}/documents/delete`, { ids: ['a'], filter: { year: 2020 } }), 400, 'invalid_input');
    // An empty filter would match (and delete) everything.
    const empty = expectError(await call('POST', `/v1/collections/${COL}/documents/delete`, { filter: {} }), 400, 'invalid_input');
    expect(empty.message).toContain('filter is empty');
    expectError(await call('GET', '/v1/collections/okname'), 404, 'collection_not_found');
    await expectIntact();
  });

  it('empty, whitespace-only and over-long text reject the whole batch', async () => {
    // '' and over-long texts fail validation; whitespace-only ones pass it but have nothing to embed.
    for (const [bad, code] of [
      ['', 'invalid_input'],
      ['   ', 'empty_text'],
      ['\n\t \u00a0', 'empty_text'],
      ['x'.repeat(LIMITS.maxTextChars + 1), 'invalid_input'],
    ] as const) {
      for (const documents of [[valid('new1'), { id: 'new2', text: bad }], [{ id: 'new1', text: bad }, valid('new2')], [{ id: 'x', text: bad }]]) {
        expectError(await upsertRaw({ documents }), 400, code);
      }
      // Replacing an existing document's text with a bad one leaves the old text.
      expectError(await upsertRaw({ documents: [{ id: 'a', text: bad }] }), 400, code);
      // Queries and /v1/embeddings are held to the same rules.
      expectError(await searchRaw({ query: bad }), 400, code);
      // keyword and hybrid hold queries to the same rules.
      for (const mode of ['keyword', 'hybrid']) expectError(await searchRaw({ query: bad, mode }), 400, code);
      expectError(await call('POST', '/v1/embeddings', { input: ['fine', bad] }), 400, code);
      expectError(await call('POST', '/v1/embeddings', { input: bad }), 400, code);
    }
    const text = expectError(await upsertRaw({ documents: [valid('new1'), { id: 'new2', text: 'y'.repeat(201) }] }), 400, 'invalid_input');
    expect(text.message).toContain('documents.1.text');
    // Exactly at the limit is fine (and then removed again).
    const ok = await upsertRaw({ documents: [{ id: 'new1', text: 'z '.repeat(100) }] });
    expect(ok.status).toBe(200);
    expect((await call('DELETE', `/v1/collections/${COL}/documents/new1`)).status).toBe(200);
    const a = await call('GET', `/v1/collections/${COL}/documents/a`);
    expect((a.body as { text: string }).text).toBe(SEED[0]!.text);
    await expectIntact();
  });

  it('too many documents', async () => {
    const documents = Array.from({ length: LIMITS.maxDocsPerRequest + 1 }, (_, i) => valid(`new${i}`));
    const err = expectError(await upsertRaw({ documents }), 400, 'invalid_input');
    expect(err.message).toContain(String(LIMITS.maxDocsPerRequest));
    const ids = Array.from({ length: LIMITS.maxDocsPerRequest + 1 }, (_, i) => `id${i}`);
    expectError(await call('POST', `/v1/collections/${COL}/documents/delete`, { ids: [...ids.slice(0, -1), 'a'] }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/embeddings', { input: ids }), 400, 'invalid_input');
    await expectIntact();
  });

  it('oversized body: 413, also when sent chunked without a Content-Length', async () => {
    const big = { documents: [valid('new1'), { id: 'new2', text: 'ok', metadata: { pad: 'p'.repeat(LIMITS.maxBodyBytes) } }] };
    const err = expectError(await upsertRaw(big), 413, 'payload_too_large');
    expect(err.message).toContain('SEXTANT_MAX_BODY_BYTES');
    expectError(await searchRaw({ query: 'fox', filter: { tag: 'q'.repeat(LIMITS.maxBodyBytes) } }), 413, 'payload_too_large');

    const bytes = new TextEncoder().encode(JSON.stringify(big));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.slice(i, i + 4096));
        controller.close();
      },
    });
    const res = await fetch(`${base}/v1/collections/${COL}/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe('payload_too_large');
    await expectIntact();
  });

  it('unknown collection and unknown document: 404', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/collections/nope'],
      ['DELETE', '/v1/collections/nope'],
      ['POST', '/v1/collections/nope/documents', { documents: [valid('new1')] }],
      ['GET', '/v1/collections/nope/documents/a'],
      ['DELETE', '/v1/collections/nope/documents/a'],
      ['POST', '/v1/collections/nope/documents/delete', { ids: ['a'] }],
      ['POST', '/v1/collections/nope/documents/delete', { filter: { year: 2020 } }],
      ['POST', '/v1/collections/nope/search', { query: 'fox' }],
    ] as const) {
      const err = expectError(await call(method, path, body), 404, 'collection_not_found');
      expect(err.message, `${method} ${path}`).toContain("'nope'");
    }
    expectError(await call('GET', `/v1/collections/${COL}/documents/missing`), 404, 'document_not_found');
    expectError(await call('DELETE', `/v1/collections/${COL}/documents/missing`), 404, 'document_not_found');
    const unicode = await call('GET', `/v1/collections/${COL}/documents/${encodeURIComponent('ünï/cödé')}`);
    expectError(unicode, 404, 'document_not_found');
    expect((await call('GET', '/v1/collections')).body).toEqual({ collections: [expect.objectContaining({ name: COL })] });
    await expectIntact();
  });

  it('invalid collection names', async () => {
    for (const name of ['', 'has space', 'bad/slash', '-leading', '_leading', 'dot.name', 'ümlaut', 'x'.repeat(65), '../etc']) {
      const res = await call('POST', '/v1/collections', { name });
      expectError(res, 400, 'invalid_input');
    }
    // 64 characters is the longest name allowed.
    const longest = 'n'.repeat(64);
    expect((await call('POST', '/v1/collections', { name: longest })).status).toBe(201);
    expect((await call('DELETE', `/v1/collections/${longest}`)).status).toBe(200);
    expect((await call('GET', '/v1/collections')).body).toEqual({ collections: [expect.objectContaining({ name: COL })] });
    await expectIntact();
  });

  it('bad vectors: wrong dimension, Infinity, all zeros, NaN-like values', async () => {
    const short = expectError(await searchRaw({ vector: vector.slice(0, 511) }), 400, 'invalid_vector');
    expect(short.message).toContain('511');
    expectError(await searchRaw({ vector: [...vector, 0.1] }), 400, 'invalid_vector');
    expectError(await searchRaw({ vector: [] }), 400, 'invalid_input');
    expectError(await searchRaw({ vector: [1, 2, 3] }), 400, 'invalid_vector');

    // JSON has no Infinity, but JSON.parse turns an out-of-range literal into one.
    expect(JSON.parse('[1e999]')).toEqual([Infinity]);
    for (const literal of ['1e999', '-1e999']) {
      const raw = `{"vector":[${literal},${vector.slice(1).join(',')}],"k":3}`;
      const err = expectError(await searchRaw(raw), 400, 'invalid_input');
      expect(err.message, literal).toContain('vector.0');
      expectError(await searchRaw(`{"vector":[${vector.slice(1).join(',')},${literal}],"mode":"hybrid","query":"fox"}`), 400, 'invalid_input');
    }
    // Finite in JSON (and in float64) but Infinity once stored as float32.
    const tooBigForFloat32 = expectError(await searchRaw({ vector: [1e39, ...vector.slice(1)] }), 400, 'invalid_vector');
    expect(tooBigForFloat32.message).toContain('vector[0]');

    const zeros = expectError(await searchRaw({ vector: new Array(512).fill(0) }), 400, 'invalid_vector');
    expect(zeros.message).toContain('zero');
    // Too small to survive float32: zero after conversion.
    expectError(await searchRaw({ vector: new Array(512).fill(1e-46) }), 400, 'invalid_vector');

    // A vector-only query in keyword or hybrid mode has no text to match.
    expectError(await searchRaw({ vector, mode: 'keyword' }), 400, 'invalid_input');
    expectError(await searchRaw({ vector, mode: 'hybrid' }), 400, 'invalid_input');
    expectError(await searchRaw({ k: 3 }), 400, 'invalid_input');
    // The same vector, valid, works.
    const ok = await searchRaw({ vector, k: 1 });
    expect((ok.body as { results: { id: string }[] }).results.map((r) => r.id)).toEqual(['c']);
    await expectIntact();
  });

  it('bad filters: unknown operators, non-objects, bad operands', async () => {
    const filters: unknown[] = [
      { tag: { $regex: '^a' } },
      { $regex: { tag: 'a' } },
      { tag: { $exists: true } },
      { $exists: 'tag' },
      { year: { $foo: 1 } },
      { year: { $gt: 2020, $bar: 1 } },
      { $and: [{ year: 2020 }, { tag: { $regex: 'x' } }] },
      { $or: [{ $not: { year: 2020 } }] },
      { $and: [] },
      { $or: {} },
      { $and: [5] },
      { year: {} },
      { year: { $in: 2020 } },
      { year: { $nin: 'x' } },
      { year: { $gt: true } },
      { year: { $in: [{ nested: 1 }] } },
      { year: [2020, 2021] },
      { year: null },
      { year: { nested: { deeper: 1 } } },
    ];
    for (const filter of filters) {
      const label = JSON.stringify(filter);
      const res = await searchRaw({ query: 'fox', filter });
      expect(res.status, label).toBe(400);
      expect((res.body as ErrorBody).error.code, label).toBe('invalid_input');
      for (const mode of ['keyword', 'hybrid']) expect((await searchRaw({ query: 'fox', mode, filter })).status, label).toBe(400);
      const del = await call('POST', `/v1/collections/${COL}/documents/delete`, { filter });
      expect(del.status, label).toBe(400);
      expect((del.body as ErrorBody).error.code, label).toBe('invalid_input');
    }
    const regex = expectError(await searchRaw({ query: 'fox', filter: { tag: { $regex: '^a' } } }), 400, 'invalid_input');
    expect(regex.message).toContain('$regex');
    const foo = expectError(await searchRaw({ query: 'fox', filter: { year: { $foo: 1 } } }), 400, 'invalid_input');
    expect(foo.message).toContain('$foo');

    for (const filter of ['year', 5, true, ['year', 2020], null]) {
      const label = JSON.stringify(filter);
      expect((await searchRaw({ query: 'fox', filter })).status, label).toBe(400);
      expect((await call('POST', `/v1/collections/${COL}/documents/delete`, { filter })).status, label).toBe(400);
    }
    // Deep nesting is bounded.
    let deep: Record<string, unknown> = { year: 2020 };
    for (let i = 0; i < 40; i++) deep = { $and: [deep] };
    expectError(await searchRaw({ query: 'fox', filter: deep }), 400, 'invalid_input');
    expectError(await call('POST', `/v1/collections/${COL}/documents/delete`, { filter: deep }), 400, 'invalid_input');
    await expectIntact();
  });

  it('k over the maximum and alpha out of range', async () => {
    const k = expectError(await searchRaw({ query: 'fox', k: LIMITS.maxK + 1 }), 400, 'invalid_input');
    expect(k.message).toContain(String(LIMITS.maxK));
    expect((await searchRaw({ query: 'fox', k: LIMITS.maxK })).status).toBe(200);
    for (const alpha of [1.01, -0.01, 2, -1, '0.5']) {
      expectError(await searchRaw({ query: 'fox', mode: 'hybrid', alpha }), 400, 'invalid_input');
    }
    expectError(await call('POST', '/v1/collections', { name: 'okname', hybrid_alpha: 1.5 }), 400, 'invalid_input');
    for (const alpha of [0, 1, 0.5]) expect((await searchRaw({ query: 'fox', mode: 'hybrid', alpha })).status).toBe(200);
    await expectIntact();
  });

  it('duplicate ids in one upsert write nothing', async () => {
    const err = expectError(await upsertRaw({ documents: [valid('new1'), valid('new2'), { id: 'new1', text: 'again' }] }), 400, 'invalid_input');
    expect(err.message).toContain('new1');
    // Even when the duplicate is an existing document.
    expectError(await upsertRaw({ documents: [{ id: 'a', text: 'changed' }, valid('new1'), { id: 'a', text: 'changed' }] }), 400, 'invalid_input');
    const a = await call('GET', `/v1/collections/${COL}/documents/a`);
    expect((a.body as { text: string }).text).toBe(SEED[0]!.text);
    await expectIntact();
  });

  it('model administration and collection settings reject bad input and change nothing', async () => {
    expectError(await call('PUT', '/v1/models/aliases/bad@alias', { target: 'use-lite@1' }), 400, 'invalid_input');
    expectError(await call('PUT', '/v1/models/aliases/staging', { target: 'nope@9' }), 404, 'model_not_found');
    expectError(await call('PUT', '/v1/models/aliases/staging', {}), 400, 'invalid_input');
    expectError(await call('POST', '/v1/models/import', { path: '/does/not/exist', name: 'x' }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/models/import', { path: '/tmp', name: 'bad name' }), 400, 'invalid_input');
    const models = (await call('GET', '/v1/models')).body as { data: { id: string; aliases: string[] }[] };
    expect(models.data.flatMap((m) => m.aliases)).toEqual(['default']);

    const before = (await call('GET', `/v1/collections/${COL}`)).body;
    expectError(await call('PATCH', `/v1/collections/${COL}`, { target: 'nope@9' }), 404, 'model_not_found');
    expectError(await call('PATCH', `/v1/collections/${COL}`, { hybrid_alpha: 2 }), 400, 'invalid_input');
    expectError(await call('PATCH', `/v1/collections/${COL}`, { policy: 'sometimes' }), 400, 'invalid_input');
    expectError(await call('PATCH', `/v1/collections/${COL}`, { hnsw: { M: 8 } }), 400, 'invalid_input');
    expectError(await call('PATCH', '/v1/collections/missing', { hybrid_alpha: 0.5 }), 404, 'collection_not_found');
    expect((await call('GET', `/v1/collections/${COL}`)).body).toEqual(before);

    expectError(await call('POST', `/v1/collections/${COL}/rollback`), 409, 'conflict');
    expectError(await call('POST', `/v1/collections/${COL}/reembed`, { model: 42 }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/jobs/nope/cancel'), 404, 'job_not_found');
    await expectIntact();
  });

  it('unknown routes and methods: 404 JSON', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/v1/nope'],
      ['GET', '/v2/collections'],
      ['POST', `/v1/collections/${COL}/unknown`],
      ['GET', `/v1/collections/${COL}/search`],
      ['PUT', '/v1/collections'],
      ['PATCH', '/v1/collections'],
      ['GET', `/v1/collections/${COL}/documents`],
    ] as const) {
      expectError(await call(method, path), 404, 'not_found');
    }
    await expectIntact();
  });
});

describe('authentication and roles', () => {
  let server: RunningServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const READ = { authorization: 'Bearer readkey123' };
  const WRITE = { authorization: 'Bearer writekey123' };
  const ADMIN = { authorization: 'Bearer adminkey123' };

  beforeAll(async () => {
    dir = await tempDir('sextant-api-auth-');
    server = await startTestServer({ dataDir: dir.path, apiKeys: 'readkey123:read,writekey123:write,adminkey123:admin' });
  });

  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  it('no key or a wrong key: 401; a weak role: 403; the right role: allowed', async () => {
    const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => api(server.url, method, path, body, headers);
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).status).toBe(200);
    expect((await call('GET', '/openapi.json')).status).toBe(200);

    for (const headers of <Record<string, string>[]>[{}, { authorization: 'Bearer wrongkey999' }, { authorization: 'readkey123' }, { authorization: 'Basic cmVhZGtleTEyMw==' }, { authorization: 'Bearer ' }, { authorization: 'Bearer readkey12' }]) {
      const label = JSON.stringify(headers);
      for (const [method, path, body] of [
        ['GET', '/v1/collections'],
        ['POST', '/v1/collections', { name: 'secured' }],
        ['POST', '/v1/embeddings', { input: 'x' }],
        ['GET', '/v1/models'],
        ['GET', '/metrics'],
      ] as const) {
        const res = await call(method, path, body, headers);
        expect(res.status, `${label} ${method} ${path}`).toBe(401);
        expect((res.body as ErrorBody).error.code).toBe('unauthorized');
      }
    }

    // read: can read and search, cannot write.
    expect((await call('GET', '/v1/collections', undefined, READ)).body).toEqual({ collections: [] });
    expectError(await call('POST', '/v1/collections', { name: 'secured' }, READ), 403, 'forbidden');
    expect((await call('POST', '/v1/collections', { name: 'secured' }, WRITE)).status).toBe(201);
    const upsert = { documents: [{ id: 'd1', text: 'a secret document about cats' }] };
    const forbidden = expectError(await call('POST', '/v1/collections/secured/documents', upsert, READ), 403, 'forbidden');
    expect(forbidden.message).toContain('write');
    expect((await call('GET', '/v1/collections/secured', undefined, READ)).body).toMatchObject({ document_count: 0 });
    expect((await call('POST', '/v1/collections/secured/documents', upsert, WRITE)).status).toBe(200);
    expectError(await call('POST', '/v1/collections/secured/documents/delete', { ids: ['d1'] }, READ), 403, 'forbidden');
    expectError(await call('DELETE', '/v1/collections/secured/documents/d1', undefined, READ), 403, 'forbidden');
    const found = await call('POST', '/v1/collections/secured/search', { query: 'cats', k: 1 }, READ);
    expect(found.status).toBe(200);
    expect((found.body as { results: { id: string }[] }).results.map((r) => r.id)).toEqual(['d1']);
    expect((await call('GET', '/v1/collections/secured/documents/d1', undefined, READ)).status).toBe(200);
    expect((await call('POST', '/v1/embeddings', { input: 'x' }, READ)).status).toBe(200);
    expect((await call('GET', '/metrics', undefined, READ)).status).toBe(200);

    // write: cannot delete a collection; admin can.
    const del = expectError(await call('DELETE', '/v1/collections/secured', undefined, WRITE), 403, 'forbidden');
    expect(del.message).toContain('admin');
    expectError(await call('DELETE', '/v1/collections/secured', undefined, READ), 403, 'forbidden');
    expect((await call('GET', '/v1/collections/secured', undefined, ADMIN)).body).toMatchObject({ document_count: 1 });
    expect((await call('DELETE', '/v1/collections/secured', undefined, ADMIN)).status).toBe(200);
    expectError(await call('GET', '/v1/collections/secured', undefined, ADMIN), 404, 'collection_not_found');
    // The scheme name is case-insensitive.
    expect((await call('GET', '/v1/collections', undefined, { authorization: 'bearer adminkey123' })).status).toBe(200);
  });
});

describe('rate limiting and overload', () => {
  it('a burst over SEXTANT_RATE_LIMIT gets 429 with Retry-After, and service resumes after it', async () => {
    const dir = await tempDir('sextant-api-rate-');
    const server = await startTestServer({ dataDir: dir.path, rateLimit: 2 });
    try {
      // Fired together, so refill during the burst stays negligible even on a busy machine.
      const burst = await Promise.all(Array.from({ length: 10 }, () => api(server.url, 'GET', '/v1/collections')));
      const statuses = burst.map((r) => r.status);
      const limited = burst.find((r) => r.status === 429);
      // Burst is twice the rate (4), refilled at 2/s: 4 pass (5 if the burst straddled a refill).
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(4);
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
      expect(statuses.filter((s) => s === 429).length).toBe(10 - statuses.filter((s) => s === 200).length);
      const err = expectError(limited!, 429, 'rate_limited');
      expect(err.message).toContain('2 requests/s');
      expect(limited!.headers.get('retry-after')).toBe('1');
      // Health checks are not rate limited.
      expect((await api(server.url, 'GET', '/healthz')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1000));
      expect((await api(server.url, 'GET', '/v1/collections')).status).toBe(200);
    } finally {
      await server.close();
      await dir.remove();
    }
  });

  it('a full embedding queue answers 429 overloaded with Retry-After and writes nothing', async () => {
    const dir = await tempDir('sextant-api-overload-');
    const server = await startTestServer({ dataDir: dir.path, queueMax: 1 });
    try {
      const call = (method: string, path: string, body?: unknown) => api(server.url, method, path, body);
      expect((await call('POST', '/v1/collections', { name: 'busy' })).status).toBe(201);
      const documents = Array.from({ length: 8 }, (_, i) => ({ id: `doc${i}`, text: `document number ${i} about something` }));
      const res = await call('POST', '/v1/collections/busy/documents', { documents });
      const err = expectError(res, 429, 'overloaded');
      expect(err.message).toContain('queue');
      expect(res.headers.get('retry-after')).toBe('1');
      expect((await call('GET', '/v1/collections/busy')).body).toMatchObject({ document_count: 0 });
      expect((await call('GET', '/v1/collections/busy/documents/doc0')).status).toBe(404);
      expectError(await call('POST', '/v1/embeddings', { input: ['one', 'two', 'three'] }), 429, 'overloaded');
      // Work that fits the queue still goes through.
      expect((await call('POST', '/v1/collections/busy/documents', { documents: documents.slice(0, 1) })).status).toBe(200);
      expect((await call('POST', '/v1/collections/busy/search', { query: 'document', k: 5 })).status).toBe(200);
      expect((await call('GET', '/v1/collections/busy')).body).toMatchObject({ document_count: 1 });
      expect((await call('GET', '/healthz')).status).toBe(200);
    } finally {
      await server.close();
      await dir.remove();
    }
  });
});

describe('startup safety', () => {
  it('refuses to bind a public address without API keys', async () => {
    const dir = await tempDir('sextant-api-public-');
    try {
      for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
        const config = loadConfig({ host, port: 0, dataDir: dir.path, modelsDir: inject('modelsDir') }, {});
        const attempt = startServer(config);
        await expect(attempt, host).rejects.toBeInstanceOf(ConfigError);
        await expect(attempt, host).rejects.toThrow(/SEXTANT_API_KEYS/);
      }
      // Nothing was left holding the data dir: a loopback server can start on it.
      const ok = await startServer(loadConfig({ host: '127.0.0.1', port: 0, dataDir: dir.path, modelsDir: inject('modelsDir') }, {}));
      expect((await api(ok.url, 'GET', '/healthz')).status).toBe(200);
      await ok.close();
    } finally {
      await dir.remove();
    }
  });
});

describe('readiness, metrics and OpenAPI', () => {
  let server: RunningServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir('sextant-api-ops-');
    server = await startTestServer({ dataDir: dir.path });
  });

  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  it('/healthz and /readyz', async () => {
    expect(await api(server.url, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await api<{ status: string; device: string; models: { id: string; device: string }[]; store: string }>(server.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.device).toBe('cpu');
    expect(ready.body.store).toBe('open');
    expect(ready.body.models).toEqual([expect.objectContaining({ device: 'cpu', id: expect.stringMatching(/^use-lite@/) })]);
  });

  it('/metrics counts requests by route and observes embedding batches', async () => {
    const metric = async (): Promise<string> => {
      const res = await api<string>(server.url, 'GET', '/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      return res.body;
    };
    const counter = (text: string, route: string, method: string, status: string): number => {
      const line = text.split('\n').find((l) => l.startsWith('sextant_http_requests_total{') && l.includes(`route="${route}"`) && l.includes(`method="${method}"`) && l.includes(`status="${status}"`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    expect((await api(server.url, 'POST', '/v1/collections', { name: 'm' })).status).toBe(201);
    const before = await metric();
    for (let i = 0; i < 3; i++) expect((await api(server.url, 'POST', '/v1/collections/m/search', { query: `query ${i}` })).status).toBe(200);
    expect((await api(server.url, 'POST', '/v1/collections/m/search', { query: 'x', k: 'ten' })).status).toBe(400);
    expect((await api(server.url, 'POST', '/v1/embeddings', { input: ['a', 'b', 'c'] })).status).toBe(200);
    const after = await metric();

    expect(after).toContain('# TYPE sextant_http_requests_total counter');
    expect(counter(after, '/v1/collections/:name/search', 'POST', '200') - counter(before, '/v1/collections/:name/search', 'POST', '200')).toBe(3);
    expect(counter(after, '/v1/collections/:name/search', 'POST', '400') - counter(before, '/v1/collections/:name/search', 'POST', '400')).toBe(1);
    expect(counter(after, '/v1/embeddings', 'POST', '200') - counter(before, '/v1/embeddings', 'POST', '200')).toBe(1);
    expect(counter(after, '/v1/collections', 'POST', '201')).toBe(1);
    // Label values are route patterns, never raw paths (bounded cardinality).
    expect(after).not.toContain('route="/v1/collections/m/search"');

    expect(after).toContain('# TYPE sextant_embed_batch_size histogram');
    expect(after).toMatch(/^sextant_embed_batch_size_bucket\{[^}]*le="\+Inf"[^}]*\} \d+/m);
    expect(after).toMatch(/^sextant_embed_batch_size_count\{[^}]*model="use-lite@[^"]+"[^}]*\} \d+/m);
    expect(after).toContain('sextant_http_request_duration_seconds_bucket');
    expect(after).toMatch(/^sextant_collection_documents\{[^}]*collection="m"[^}]*\} 0$/m);
  });

  it('/openapi.json documents every route', async () => {
    const res = await api<{ openapi: string; info: { title: string }; paths: Record<string, Record<string, unknown>> }>(server.url, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\.\d+\.\d+$/);
    const expected: Record<string, string[]> = {
      '/healthz': ['get'],
      '/readyz': ['get'],
      '/metrics': ['get'],
      '/openapi.json': ['get'],
      '/v1/embeddings': ['post'],
      '/v1/models': ['get'],
      '/v1/models/import': ['post'],
      '/v1/models/aliases/{alias}': ['put'],
      '/v1/jobs': ['get'],
      '/v1/jobs/{id}': ['get'],
      '/v1/jobs/{id}/cancel': ['post'],
      '/v1/collections': ['get', 'post'],
      '/v1/collections/{name}': ['delete', 'get', 'patch'],
      '/v1/collections/{name}/reembed': ['post'],
      '/v1/collections/{name}/rollback': ['post'],
      '/v1/collections/{name}/drift': ['get', 'patch'],
      '/v1/collections/{name}/drift/reference': ['post'],
      '/v1/collections/{name}/eval': ['post'],
      '/v1/collections/{name}/tune': ['post'],
      '/v1/collections/{name}/eval-set': ['delete', 'get', 'put'],
      '/v1/collections/{name}/documents': ['post'],
      '/v1/collections/{name}/documents/delete': ['post'],
      '/v1/collections/{name}/documents/{id}': ['delete', 'get'],
      '/v1/collections/{name}/search': ['post'],
    };
    expect(Object.keys(res.body.paths).sort()).toEqual(Object.keys(expected).sort());
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(res.body.paths[path]!).filter((k) => k !== 'parameters').sort(), path).toEqual(methods);
    }
    const search = res.body.paths['/v1/collections/{name}/search']!.post as {
      requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } };
    };
    expect(Object.keys(search.requestBody.content['application/json'].schema.properties).sort()).toEqual(
      ['alpha', 'ef', 'explain', 'filter', 'include_text', 'k', 'mode', 'query', 'vector'].sort(),
    );
    const create = res.body.paths['/v1/collections']!.post as { responses: Record<string, unknown> };
    expect(Object.keys(create.responses)).toContain('201');
  });
});
