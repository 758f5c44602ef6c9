// Tests src/api/routes/feedback.ts: storing, paging and deleting user feedback, its validation (all or nothing), roles, and removal with the collection, through app.request().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as responses from '../../../../src/api/responses.ts';
import { expectError, LIMITS, SEED } from '../../../helpers/api-errors.ts';
import { startTestApp, type TestApp } from '../../../helpers/app.ts';
import { api, tempDir } from '../../../helpers/server.ts';

const READ = { authorization: 'Bearer reader-key1' };
const WRITE = { authorization: 'Bearer writer-key1' };
const ADMIN = { authorization: 'Bearer admin-key1' };
const COL = 'fb';
const PATH = `/v1/collections/${COL}/feedback`;

interface FeedbackList {
  count: number;
  items: { id: number; query: string; relevant: string[]; not_relevant: string[]; created_at: string }[];
  next: number | null;
}

describe('feedback routes', () => {
  let app: TestApp;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const call = <T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = WRITE) => api<T>(app, method, path, body, headers);
  const add = (body: unknown, headers: Record<string, string> = WRITE) => call<{ stored: number }>('POST', PATH, body, headers);
  const list = async (query = '', headers: Record<string, string> = READ): Promise<FeedbackList> => {
    const res = await call<FeedbackList>('GET', `${PATH}${query}`, undefined, headers);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return responses.feedbackList.parse(res.body);
  };
  const count = async () => (await list()).count;
  /** Each test starts from no feedback, so it can run alone (-t). */
  const clear = async () => expect((await call('DELETE', PATH)).status).toBe(200);

  beforeAll(async () => {
    dir = await tempDir('sextant-api-feedback-');
    app = await startTestApp({ dataDir: dir.path, ...LIMITS, apiKeys: 'reader-key1:read,writer-key1:write,admin-key1:admin' });
    expect((await call('POST', '/v1/collections', { name: COL })).status).toBe(201);
    expect((await call('POST', `/v1/collections/${COL}/documents`, { documents: SEED })).status).toBe(200);
  });

  afterAll(async () => {
    await app?.close();
    await dir?.remove();
  });

  it('stores items (200 {stored}) and lists them oldest first with their judgements', async () => {
    await clear();
    const before = Date.now();
    const res = await add({ items: [{ query: 'quick fox', relevant: ['a'], not_relevant: ['b', 'c'] }, { query: 'soup recipe', relevant: ['b', 'e'] }] });
    expect(res).toMatchObject({ status: 200, body: { stored: 2 } });
    expect(responses.feedbackStored.parse(res.body)).toEqual({ stored: 2 });
    expect((await add({ items: [{ query: 'telescope', relevant: ['c'], not_relevant: [] }] })).body).toEqual({ stored: 1 });

    const page = await list();
    expect(page.count).toBe(3);
    expect(page.next).toBeNull();
    expect(page.items.map(({ query, relevant, not_relevant }) => ({ query, relevant, not_relevant }))).toEqual([
      { query: 'quick fox', relevant: ['a'], not_relevant: ['b', 'c'] },
      { query: 'soup recipe', relevant: ['b', 'e'], not_relevant: [] },
      { query: 'telescope', relevant: ['c'], not_relevant: [] },
    ]);
    const ids = page.items.map((i) => i.id);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    expect(new Set(ids).size).toBe(3);
    for (const i of page.items) expect(Date.parse(i.created_at)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('pages with limit and after, giving next until the last page', async () => {
    await clear();
    expect((await add({ items: Array.from({ length: 7 }, (_, i) => ({ query: `query ${i}`, relevant: [SEED[i % SEED.length]!.id] })) })).body).toEqual({ stored: 7 });
    const seen: string[] = [];
    let after: number | null = null;
    const sizes: number[] = [];
    do {
      const page: FeedbackList = await list(`?limit=3${after === null ? '' : `&after=${after}`}`);
      expect(page.count).toBe(7);
      sizes.push(page.items.length);
      seen.push(...page.items.map((i) => i.query));
      if (page.next !== null) expect(page.next).toBe(page.items.at(-1)!.id);
      after = page.next;
    } while (after !== null);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `query ${i}`));
    // Exactly a page's worth left: no empty extra page.
    const first = await list('?limit=7');
    expect([first.items.length, first.next]).toEqual([7, null]);
    // Default limit covers them all; after the last id nothing remains.
    expect((await list()).items).toHaveLength(7);
    expect(await list(`?after=${first.items.at(-1)!.id}`)).toEqual({ count: 7, items: [], next: null });
    expect((await list('?limit=1000')).items).toHaveLength(7);

    for (const query of ['?limit=0', '?limit=1001', '?limit=abc', '?limit=1.5', '?limit=-1', '?limit=', '?after=-1', '?after=x', '?after=2.5']) {
      expectError(await call('GET', `${PATH}${query}`, undefined, READ), 400, 'invalid_input');
    }
  });

  it('refuses every bad request with a 4xx JSON error and stores nothing, not even its valid items', async () => {
    await clear();
    expect((await add({ items: [{ query: 'kept', relevant: ['a'] }] })).status).toBe(200);
    const ok = { query: 'fine', relevant: ['a'] };
    const bad: [string, unknown][] = [
      ['no items', {}],
      ['empty items', { items: [] }],
      ['items not an array', { items: { query: 'x', relevant: ['a'] } }],
      ['empty query', { items: [ok, { query: '', relevant: ['a'] }] }],
      ['whitespace query', { items: [ok, { query: ' \t\n ', relevant: ['a'] }] }],
      ['query not text', { items: [ok, { query: 42, relevant: ['a'] }] }],
      ['query too long', { items: [ok, { query: 'x'.repeat(LIMITS.maxTextChars + 1), relevant: ['a'] }] }],
      ['relevant missing', { items: [ok, { query: 'q' }] }],
      ['relevant empty', { items: [ok, { query: 'q', relevant: [] }] }],
      ['relevant not a list', { items: [ok, { query: 'q', relevant: 'a' }] }],
      ['id not text', { items: [ok, { query: 'q', relevant: [1] }] }],
      ['empty id', { items: [ok, { query: 'q', relevant: [''] }] }],
      ['duplicate relevant', { items: [ok, { query: 'q', relevant: ['a', 'b', 'a'] }] }],
      ['duplicate not_relevant', { items: [ok, { query: 'q', relevant: ['a'], not_relevant: ['b', 'b'] }] }],
      ['both relevant and not', { items: [ok, { query: 'q', relevant: ['a', 'b'], not_relevant: ['c', 'b'] }] }],
      ['unknown item field', { items: [ok, { query: 'q', relevant: ['a'], score: 1 }] }],
      ['unknown top-level field', { items: [ok], user: 'me' }],
      ['too many items', { items: Array.from({ length: LIMITS.maxDocsPerRequest + 1 }, () => ok) }],
      ['not an object', [ok]],
    ];
    for (const [label, body] of bad) {
      const err = expectError(await add(body), 400, 'invalid_input');
      expect(err.details, label).toMatchObject({ issues: expect.any(Array) });
    }
    const overlap = expectError(await add({ items: [ok, { query: 'q', relevant: ['a', 'b'], not_relevant: ['b'] }] }), 400, 'invalid_input');
    expect(overlap.details).toEqual({ issues: [expect.objectContaining({ path: 'items.1.not_relevant.0' })] });
    expect(overlap.message).toContain("'b'");
    const blank = expectError(await add({ items: [{ query: '   ', relevant: ['a'] }] }), 400, 'invalid_input');
    expect(blank.details).toEqual({ issues: [expect.objectContaining({ path: 'items.0.query' })] });

    // Ids that are not documents of the collection: named in the message and listed in details.
    const unknown = expectError(await add({ items: [ok, { query: 'q', relevant: ['a', 'zz'], not_relevant: ['yy', 'b'] }, { query: 'r', relevant: ['zz'] }] }), 400, 'invalid_input');
    expect(unknown.details).toMatchObject({ unknown_ids: ['yy', 'zz'] });
    expect(unknown.message).toContain("'yy'");
    expect(unknown.message).toContain("'zz'");
    expect(unknown.message).not.toContain("'a'");

    expectError(await call('POST', PATH, 'not json'), 400, 'invalid_input');
    expectError(await call('POST', PATH, ''), 400, 'invalid_input');

    const after = await list();
    expect(after.count).toBe(1);
    expect(after.items.map((i) => i.query)).toEqual(['kept']);
  });

  it('an unknown collection is a 404 on every route', async () => {
    const path = '/v1/collections/nope/feedback';
    expectError(await call('POST', path, { items: [{ query: 'q', relevant: ['a'] }] }), 404, 'collection_not_found');
    expectError(await call('GET', path, undefined, READ), 404, 'collection_not_found');
    expectError(await call('DELETE', path), 404, 'collection_not_found');
  });

  it('deletes all of the collection\'s feedback', async () => {
    await clear();
    await add({ items: [{ query: 'one', relevant: ['a'] }, { query: 'two', relevant: ['b'] }] });
    const res = await call('DELETE', PATH);
    expect(res).toMatchObject({ status: 200, body: { deleted: 2 } });
    expect(responses.feedbackDeleted.parse(res.body)).toEqual({ deleted: 2 });
    expect(await list()).toEqual({ count: 0, items: [], next: null });
    expect((await call('DELETE', PATH)).body).toEqual({ deleted: 0 });
  });

  it('roles: reading needs read, storing and deleting need write', async () => {
    await clear();
    const body = { items: [{ query: 'q', relevant: ['a'] }] };
    for (const [method, payload] of [['POST', body], ['GET', undefined], ['DELETE', undefined]] as const) {
      expectError(await call(method, PATH, payload, {}), 401, 'unauthorized');
      expectError(await call(method, PATH, payload, { authorization: 'Bearer wrong-key99' }), 401, 'unauthorized');
    }
    expectError(await add(body, READ), 403, 'forbidden');
    expectError(await call('DELETE', PATH, undefined, READ), 403, 'forbidden');
    expect(await count()).toBe(0);
    expect((await add(body, WRITE)).body).toEqual({ stored: 1 });
    expect((await add(body, ADMIN)).body).toEqual({ stored: 1 });
    expect((await list('', READ)).count).toBe(2);
    expect((await list('', WRITE)).count).toBe(2);
    expect((await call('DELETE', PATH, undefined, WRITE)).body).toEqual({ deleted: 2 });
  });

  it('deleting the collection removes its feedback', async () => {
    const name = 'fb-gone';
    const path = `/v1/collections/${name}/feedback`;
    expect((await call('POST', '/v1/collections', { name })).status).toBe(201);
    expect((await call('POST', `/v1/collections/${name}/documents`, { documents: SEED.slice(0, 2) })).status).toBe(200);
    expect((await call('POST', path, { items: [{ query: 'q', relevant: ['a'] }] })).body).toEqual({ stored: 1 });
    expect((await call('DELETE', `/v1/collections/${name}`, undefined, ADMIN)).status).toBe(200);
    expectError(await call('GET', path, undefined, READ), 404, 'collection_not_found');
    // The name is free again, and the new collection starts without feedback.
    expect((await call('POST', '/v1/collections', { name })).status).toBe(201);
    expect((await call<FeedbackList>('GET', path, undefined, READ)).body).toEqual({ count: 0, items: [], next: null });
    expect((await call('DELETE', `/v1/collections/${name}`, undefined, ADMIN)).status).toBe(200);
  });

  it('/openapi.json documents the three operations with their roles and query parameters', async () => {
    const doc = (await call<{ paths: Record<string, Record<string, { operationId: string; summary: string; parameters?: { name: string }[] }>> }>('GET', '/openapi.json')).body;
    const ops = doc.paths['/v1/collections/{name}/feedback']!;
    expect(Object.fromEntries(Object.entries(ops).map(([m, op]) => [m, op.operationId]))).toEqual({ post: 'addFeedback', get: 'listFeedback', delete: 'deleteFeedback' });
    expect(ops.post!.summary).toMatch(/\(write\)$/);
    expect(ops.delete!.summary).toMatch(/\(write\)$/);
    expect(ops.get!.parameters!.map((p) => p.name)).toEqual(['name', 'limit', 'after']);
  });
});
