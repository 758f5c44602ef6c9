// Tests src/api/errors.ts: error kinds mapped to statuses and JSON bodies (404s for unknown collections, documents and routes), through app.request().
import { describe, expect, it } from 'vitest';
import { expectError, LIMITS, useSeededApp, valid } from '../../helpers/api-errors.ts';
import { startTestApp } from '../../helpers/app.ts';

describe('not found', () => {
  const { COL, call, expectIntact } = useSeededApp('sextant-errors-', (dataDir) => startTestApp({ dataDir, ...LIMITS }));

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

  it('unknown routes and methods: 404 JSON', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/v1/nope'],
      ['GET', '/v2/collections'],
      ['POST', `/v1/collections/${COL}/unknown`],
      ['GET', `/v1/collections/${COL}/search`],
      ['PUT', '/v1/collections'],
      ['PATCH', '/v1/collections'],
      ['PUT', `/v1/collections/${COL}/documents`], // (GET lists them)
    ] as const) {
      expectError(await call(method, path), 404, 'not_found');
    }
    await expectIntact();
  });
});
