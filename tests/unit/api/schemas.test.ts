// Tests src/api/schemas.ts: request validation (types, unknown fields, text, batch, k and alpha limits), through app.request().
import { describe, expect, it } from 'vitest';
import { expectError, LIMITS, SEED, useSeededApp, valid } from '../../helpers/api-errors.ts';
import { startTestApp } from '../../helpers/app.ts';

describe('request validation', () => {
  const { COL, call, upsertRaw, searchRaw, expectIntact } = useSeededApp('sextant-schemas-', (dataDir) => startTestApp({ dataDir, ...LIMITS }));

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
});
