// Tests src/api/auth.ts: API keys, 401 and 403, and what each role may do, through app.request().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, type ErrorBody } from '../../helpers/api-errors.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { api, tempDir } from '../../helpers/server.ts';

describe('authentication and roles', () => {
  let app: TestApp;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const READ = { authorization: 'Bearer readkey123' };
  const WRITE = { authorization: 'Bearer writekey123' };
  const ADMIN = { authorization: 'Bearer adminkey123' };

  beforeAll(async () => {
    dir = await tempDir('sextant-api-auth-');
    app = await startTestApp({ dataDir: dir.path, apiKeys: 'readkey123:read,writekey123:write,adminkey123:admin' });
  });

  afterAll(async () => {
    await app?.close();
    await dir?.remove();
  });

  it('no key or a wrong key: 401; a weak role: 403; the right role: allowed', async () => {
    const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => api(app, method, path, body, headers);
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
