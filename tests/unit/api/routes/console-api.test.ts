// Tests the read-only operations a web console needs, through app.request() on the real runtime:
// GET /v1/whoami (src/api/routes/service.ts), GET /v1/collections/{name}/documents (collections.ts),
// GET …/generations (jobs.ts) and GET …/eval, the last evaluation POST …/eval stored (eval.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as responses from '../../../../src/api/responses.ts';
import { rollbackTarget } from '../../../../src/lifecycle/reembed/jobs.ts';
import type { GenerationRow } from '../../../../src/store/types.ts';
import { expectError, SEED } from '../../../helpers/api-errors.ts';
import { startTestApp, type TestApp } from '../../../helpers/app.ts';
import { api, tempDir } from '../../../helpers/server.ts';

// Labels follow SEXTANT_API_KEYS order: key1 (read), key2 (write), key3 (admin).
const KEYS = 'reader-key1:read,writer-key1:write,admin-key1:admin';
const READ = { authorization: 'Bearer reader-key1' };
const WRITE = { authorization: 'Bearer writer-key1' };
const ADMIN = { authorization: 'Bearer admin-key1' };

/** 55 documents, doc-00 … doc-54, sent out of id order; every third has a title. */
const PAGED = Array.from({ length: 55 }, (_, i) => ({
  id: `doc-${String(i).padStart(2, '0')}`,
  text: `paged document number ${i} about ${SEED[i % SEED.length]!.text}`,
  ...(i % 3 === 0 ? { title: `Title ${i}` } : {}),
  metadata: { n: i },
})).sort((a, b) => ((a.metadata.n * 37) % 55) - ((b.metadata.n * 37) % 55));

type DocumentList = ReturnType<typeof responses.documentList.parse>;
type GenerationList = ReturnType<typeof responses.generationList.parse>;

describe('console routes', () => {
  let app: TestApp;
  let open: TestApp;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let dataset: string;
  const call = <T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN) => api<T>(app, method, path, body, headers);
  const documents = async (collection: string, query = ''): Promise<DocumentList> => {
    const res = await call('GET', `/v1/collections/${collection}/documents${query}`, undefined, READ);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return responses.documentList.parse(res.body);
  };
  const generations = async (collection: string): Promise<GenerationList> => {
    const res = await call('GET', `/v1/collections/${collection}/generations`, undefined, READ);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return responses.generationList.parse(res.body);
  };
  const create = async (name: string, docs: readonly unknown[]) => {
    expect((await call('POST', '/v1/collections', { name }, WRITE)).status).toBe(201);
    const res = await call('POST', `/v1/collections/${name}/documents`, { documents: docs }, WRITE);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };

  beforeAll(async () => {
    dir = await tempDir('sextant-api-console-');
    app = await startTestApp({ dataDir: join(dir.path, 'keyed'), apiKeys: KEYS });
    open = await startTestApp({ dataDir: join(dir.path, 'open') });
    await create('pages', PAGED);
    await create('judged', SEED);
    // A tiny BEIR folder over SEED (corpus.jsonl is not read: the collection holds the corpus).
    dataset = join(dir.path, 'beir');
    await mkdir(dataset, { recursive: true });
    await writeFile(join(dataset, 'corpus.jsonl'), SEED.map((d) => JSON.stringify({ _id: d.id, text: d.text })).join('\n'));
    await writeFile(
      join(dataset, 'queries.jsonl'),
      [{ _id: 'q1', text: 'quick brown fox' }, { _id: 'q2', text: 'tomato soup recipe' }, { _id: 'q3', text: 'telescope galaxies' }].map((q) => JSON.stringify(q)).join('\n'),
    );
    await writeFile(join(dataset, 'qrels.tsv'), 'query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\tb\t1\nq3\tc\t1\n');
  });

  afterAll(async () => {
    await app?.close();
    await open?.close();
    await dir?.remove();
  });

  describe('GET /v1/whoami', () => {
    it('without keys: anonymous with the admin role', async () => {
      const res = await api(open, 'GET', '/v1/whoami');
      expect(res.status).toBe(200);
      expect(responses.whoami.parse(res.body)).toEqual({ authenticated: true, principal: 'anonymous', role: 'admin' });
      expect(res.body).toEqual({ authenticated: true, principal: 'anonymous', role: 'admin' });
    });

    it("with keys: the key's label and role; a missing or wrong key is a 200 saying so, and other routes still 401", async () => {
      expect(await call('GET', '/v1/whoami', undefined, READ)).toMatchObject({ status: 200, body: { authenticated: true, principal: 'key1', role: 'read' } });
      expect(await call('GET', '/v1/whoami', undefined, WRITE)).toMatchObject({ status: 200, body: { authenticated: true, principal: 'key2', role: 'write' } });
      const admin = await call('GET', '/v1/whoami', undefined, ADMIN);
      expect(admin.status).toBe(200);
      expect(responses.whoami.parse(admin.body)).toEqual({ authenticated: true, principal: 'key3', role: 'admin' });
      const wrong = await call('GET', '/v1/whoami', undefined, { authorization: 'Bearer wrong-key99' });
      expect(wrong).toMatchObject({ status: 200, body: { authenticated: false, message: 'invalid API key' } });
      expect(responses.whoami.parse(wrong.body)).toEqual({ authenticated: false, message: 'invalid API key' });
      expect(await call('GET', '/v1/whoami', undefined, {})).toMatchObject({ status: 200, body: { authenticated: false, message: expect.stringContaining('missing API key') } });
      // The exemption is this one path only.
      expectError(await call('GET', '/v1/collections', undefined, { authorization: 'Bearer wrong-key99' }), 401, 'unauthorized');
      expectError(await call('GET', '/v1/whoami/x', undefined, {}), 401, 'unauthorized');
    });
  });

  describe('GET /v1/collections/{name}/documents', () => {
    const sorted = [...PAGED].sort((a, b) => (a.id < b.id ? -1 : 1));

    it('pages in id order with count and next until the last page (null)', async () => {
      const pages: DocumentList[] = [];
      let after: string | null = null;
      do {
        const page: DocumentList = await documents('pages', `?limit=20${after === null ? '' : `&after=${after}`}`);
        pages.push(page);
        if (page.next !== null) expect(page.next).toBe(page.items.at(-1)!.id);
        after = page.next;
      } while (after !== null && pages.length < 10);
      expect(pages.map((p) => p.items.length)).toEqual([20, 20, 15]);
      expect(pages.map((p) => p.count)).toEqual([55, 55, 55]);
      expect(pages.map((p) => p.next)).toEqual(['doc-19', 'doc-39', null]);
      expect(pages.flatMap((p) => p.items.map((d) => d.id))).toEqual(sorted.map((d) => d.id));

      // Each item: the document's fields (GET of one document adds content_hash).
      const item = pages[0]!.items[3]!;
      expect(Object.keys(item).sort()).toEqual(['created_at', 'id', 'metadata', 'text', 'title', 'updated_at']);
      expect(item).toMatchObject({ id: 'doc-03', title: 'Title 3', text: sorted[3]!.text, metadata: { n: 3 } });
      expect(pages[0]!.items[1]!.title).toBeNull();
      const one = await call<Record<string, unknown>>('GET', '/v1/collections/pages/documents/doc-03', undefined, READ);
      const { content_hash: _hash, ...rest } = one.body;
      expect(item).toEqual(rest);
    });

    it('limit defaults to 50; after starts past that id; exactly a page left gives next null', async () => {
      const first = await documents('pages');
      expect([first.count, first.items.length, first.next]).toEqual([55, 50, 'doc-49']);
      expect(await documents('pages', '?limit=55')).toMatchObject({ count: 55, next: null });
      expect((await documents('pages', '?limit=1000')).items).toHaveLength(55);
      const middle = await documents('pages', '?limit=2&after=doc-10');
      expect([middle.items.map((d) => d.id), middle.next]).toEqual([['doc-11', 'doc-12'], 'doc-12']);
      // An id that is not a document still orders: the page starts after where it would be.
      expect((await documents('pages', '?limit=1&after=doc-10x')).items.map((d) => d.id)).toEqual(['doc-11']);
      expect(await documents('pages', '?after=doc-54')).toEqual({ count: 55, items: [], next: null });
    });

    it('a bad limit is a 400 naming limit; an unknown collection is a 404; reading needs a key', async () => {
      for (const query of ['?limit=0', '?limit=1001', '?limit=abc', '?limit=1.5', '?limit=-1', '?limit=']) {
        const err = expectError(await call('GET', `/v1/collections/pages/documents${query}`, undefined, READ), 400, 'invalid_input');
        expect(err.message, query).toContain('limit');
      }
      expectError(await call('GET', '/v1/collections/nope/documents', undefined, READ), 404, 'collection_not_found');
      expectError(await call('GET', '/v1/collections/pages/documents', undefined, {}), 401, 'unauthorized');
    });
  });

  describe('GET /v1/collections/{name}/generations', () => {
    it('a new collection: one live generation and nothing to roll back to', async () => {
      const list = await generations('judged');
      const info = await call<{ generation: number; model: string }>('GET', '/v1/collections/judged', undefined, READ);
      expect(list.live).toBe(info.body.generation);
      expect(list.rollback_to).toBeNull();
      expect(list.generations).toEqual([
        { id: info.body.generation, model: info.body.model, state: 'live', dimensions: 512, backend: 'hnsw', created_at: expect.any(String), retired_at: null, lineage: null },
      ]);
      expectError(await call('GET', '/v1/collections/nope/generations', undefined, READ), 404, 'collection_not_found');
    });

    it('after a re-embedding: newest first, rollback_to is the replaced one, and rollback makes it live', async () => {
      await create('gens', SEED.slice(0, 3));
      const before = await generations('gens');
      const job = await call<{ id: string }>('POST', '/v1/collections/gens/reembed', { model: 'use-lite@1' });
      expect(job.status, JSON.stringify(job.body)).toBe(202);
      let state = 'queued';
      for (let i = 0; i < 600 && (state === 'queued' || state === 'running'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        state = (await call<{ state: string }>('GET', `/v1/jobs/${job.body.id}`, undefined, READ)).body.state;
      }
      expect(state).toBe('succeeded');

      const after = await generations('gens');
      expect(after.live).toBeGreaterThan(before.live);
      expect(after.generations.map((g) => [g.id, g.state])).toEqual([
        [after.live, 'live'],
        [before.live, 'retired'],
      ]);
      expect(after.generations[1]!.retired_at).toEqual(expect.any(String));
      expect(after.rollback_to).toBe(before.live);

      const rolled = await call<{ generation: number }>('POST', '/v1/collections/gens/rollback');
      expect(rolled.status).toBe(200);
      expect(rolled.body.generation).toBe(after.rollback_to);
      const back = await generations('gens');
      expect([back.live, back.rollback_to]).toEqual([before.live, after.live]);
      expect(back.generations.map((g) => [g.id, g.state])).toEqual([
        [after.live, 'retired'],
        [before.live, 'live'],
      ]);
    });

    it('rollbackTarget: the newest retiredAt among retired generations, ties to the higher id', () => {
      const g = (id: number, state: GenerationRow['state'], retiredAt: string | null): GenerationRow => ({
        id,
        collection: 'c',
        model: 'm@1',
        dimensions: 4,
        backend: 'hnsw',
        state,
        createdAt: '2026-01-01T00:00:00.000Z',
        retiredAt,
      });
      expect(rollbackTarget([])).toBeUndefined();
      expect(rollbackTarget([g(1, 'live', null), g(2, 'building', null)])).toBeUndefined();
      expect(rollbackTarget([g(1, 'retired', '2026-01-02T00:00:00.000Z'), g(3, 'retired', '2026-01-01T00:00:00.000Z'), g(4, 'live', null)])?.id).toBe(1);
      expect(rollbackTarget([g(2, 'retired', '2026-01-02T00:00:00.000Z'), g(5, 'retired', '2026-01-02T00:00:00.000Z'), g(1, 'retired', '2026-01-02T00:00:00.000Z')])?.id).toBe(5);
    });
  });

  describe('GET /v1/collections/{name}/eval', () => {
    it('null before any evaluation; then what POST …/eval answered, with evaluated_at', async () => {
      expect(await call('GET', '/v1/collections/judged/eval', undefined, READ)).toMatchObject({ status: 200, body: { evaluation: null } });

      const started = Date.now();
      const posted = await call<Record<string, unknown>>('POST', '/v1/collections/judged/eval', { dataset, modes: ['dense', 'keyword'] });
      expect(posted.status, JSON.stringify(posted.body)).toBe(200);
      expect(posted.body).not.toHaveProperty('evaluated_at');
      const report = responses.evalReport.parse(posted.body);
      expect([report.queries, report.collection]).toEqual([3, 'judged']);

      const res = await call<{ evaluation: Record<string, unknown> }>('GET', '/v1/collections/judged/eval', undefined, READ);
      expect(res.status).toBe(200);
      const last = responses.lastEvaluation.parse(res.body);
      expect(res.body.evaluation).toEqual({ ...posted.body, evaluated_at: expect.any(String) });
      const at = Date.parse(last.evaluation!.evaluated_at);
      expect(at).toBeGreaterThanOrEqual(started - 1000);
      expect(at).toBeLessThanOrEqual(Date.now());

      // A failed evaluation keeps the last one; a new one (with register) replaces it.
      expectError(await call('POST', '/v1/collections/judged/eval', { dataset: join(dir.path, 'no-such-folder') }), 400, 'invalid_input');
      expect((await call('GET', '/v1/collections/judged/eval', undefined, READ)).body).toEqual(res.body);
      const again = await call<Record<string, unknown>>('POST', '/v1/collections/judged/eval', { dataset, modes: ['hybrid'], register: true });
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body).toHaveProperty('eval_set');
      const replaced = await call<{ evaluation: Record<string, unknown> }>('GET', '/v1/collections/judged/eval', undefined, READ);
      expect(replaced.body.evaluation).toEqual({ ...again.body, evaluated_at: expect.any(String) });
      expect(Object.keys(replaced.body.evaluation.modes as object)).toEqual(['hybrid']);
      // The other settings are kept beside it: the evaluation set is still registered.
      expect((await call('GET', '/v1/collections/judged/eval-set', undefined, READ)).status).toBe(200);
    });

    it('an unknown collection is a 404; reading needs a key, evaluating needs admin', async () => {
      expectError(await call('GET', '/v1/collections/nope/eval', undefined, READ), 404, 'collection_not_found');
      expectError(await call('GET', '/v1/collections/judged/eval', undefined, {}), 401, 'unauthorized');
      expectError(await call('POST', '/v1/collections/judged/eval', { dataset }, READ), 403, 'forbidden');
    });
  });

  it('/openapi.json documents the four operations with their ids, roles and query parameters', async () => {
    type Op = { operationId: string; summary: string; parameters?: { name: string; in: string; schema: { type: string } }[] };
    const doc = (await call<{ paths: Record<string, Record<string, Op>> }>('GET', '/openapi.json')).body;
    expect(doc.paths['/v1/whoami']!.get!.operationId).toBe('whoami');
    expect(doc.paths['/v1/collections/{name}/documents']!.get!.operationId).toBe('listDocuments');
    expect(doc.paths['/v1/collections/{name}/generations']!.get!.operationId).toBe('listGenerations');
    expect(doc.paths['/v1/collections/{name}/eval']!.get!.operationId).toBe('lastEvaluation');
    expect(doc.paths['/v1/collections/{name}/eval']!.post!.operationId).toBe('evaluate');
    const params = doc.paths['/v1/collections/{name}/documents']!.get!.parameters!;
    expect(params.map((p) => [p.name, p.in, p.schema.type])).toEqual([
      ['name', 'path', 'string'],
      ['limit', 'query', 'integer'],
      ['after', 'query', 'string'],
    ]);
    // Read operations carry no role suffix (write and admin ones do).
    for (const [path, method] of [['/v1/whoami', 'get'], ['/v1/collections/{name}/documents', 'get'], ['/v1/collections/{name}/generations', 'get'], ['/v1/collections/{name}/eval', 'get']] as const) {
      expect(doc.paths[path]![method]!.summary, path).not.toMatch(/\((write|admin)\)$/);
    }
  });
});
