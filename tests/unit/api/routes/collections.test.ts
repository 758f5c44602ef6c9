// Tests src/api/routes/collections.ts: collections, their documents and search, through app.request().
/**
 * Run once per vector backend (local HNSW, and Pinecone through the fake Pinecone server).
 * Expectations are computed in the test from the synthetic corpus (helpers/api-corpus.ts),
 * independently of the server's filter evaluator. The last describe sends these routes bad
 * requests that src/search and src/values reject (names, vectors, filters, duplicate ids,
 * settings): each gets a 4xx JSON error, leaves the server healthy and writes nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakePinecone } from '../../../fakes/pinecone-server.ts';
import { BACKENDS, byId, CORPUS, FILTER_CASES, ids, idsWhere, useCorpusApp, type CollectionBody, type Hit, type Meta, type SearchBody } from '../../../helpers/api-corpus.ts';
import { expectError, LIMITS, SEED, useSeededApp, valid, type ErrorBody } from '../../../helpers/api-errors.ts';
import { startTestApp } from '../../../helpers/app.ts';
import { DEFAULT_PINECONE_MAX_RETRIES } from '../../../../src/index/pinecone/options.ts';

describe.each(BACKENDS)('collection routes on the %s backend', (backend) => {
  const corpus = useCorpusApp(backend, (overrides) => startTestApp(overrides));
  const { call, search, info, create, upsert, remoteIds, embed, COLLECTION: CORPUS_COLLECTION } = corpus;
  let fake: FakePinecone | undefined;
  beforeAll(() => {
    fake = corpus.fake;
  });

  describe('collections', () => {
    it('creates, lists, describes and deletes a collection', async () => {
      const created = await create('lifecycle');
      expect(created).toMatchObject({ name: 'lifecycle', document_count: 0, backend, dimensions: 512, hybrid_alpha: 0.3 });
      expect(created.model).toMatch(/^use-lite@/);
      expect(Number.isInteger(created.generation)).toBe(true);

      const dup = await call<{ error: { code: string; message: string } }>('POST', '/v1/collections', { name: 'lifecycle', backend });
      expect(dup.status).toBe(409);
      expect(dup.body.error.code).toBe('collection_exists');

      const list = await call<{ collections: CollectionBody[] }>('GET', '/v1/collections');
      expect(list.status).toBe(200);
      expect(list.body.collections.map((c) => c.name).sort()).toEqual([CORPUS_COLLECTION, 'lifecycle'].sort());
      expect(list.body.collections.find((c) => c.name === CORPUS_COLLECTION)?.document_count).toBe(40);

      // GET of one collection adds the live model's lineage (null: use-lite@1 was not trained).
      expect(await info('lifecycle')).toEqual({ ...created, lineage: null });
      expect((await info(CORPUS_COLLECTION)).document_count).toBe(40);

      await upsert('lifecycle', CORPUS.slice(0, 3));
      expect((await info('lifecycle')).document_count).toBe(3);
      const { generation } = await info('lifecycle');
      if (fake) expect(fake.namespaces().get(`lifecycle.g${generation}`)?.size).toBe(3);

      const del = await call('DELETE', '/v1/collections/lifecycle');
      expect(del).toMatchObject({ status: 200, body: { deleted: 'lifecycle' } });
      if (fake) expect(fake.namespaces().has(`lifecycle.g${generation}`)).toBe(false);

      for (const [method, path] of [
        ['GET', '/v1/collections/lifecycle'],
        ['DELETE', '/v1/collections/lifecycle'],
        ['GET', '/v1/collections/lifecycle/documents/space-0'],
      ] as const) {
        const gone = await call<{ error: { code: string } }>(method, path);
        expect(gone.status, `${method} ${path}`).toBe(404);
        expect(gone.body.error.code).toBe('collection_not_found');
      }
      const searchGone = await call<{ error: { code: string } }>('POST', '/v1/collections/lifecycle/search', { query: 'stars' });
      expect(searchGone.status).toBe(404);
      expect(searchGone.body.error.code).toBe('collection_not_found');
      const list2 = await call<{ collections: CollectionBody[] }>('GET', '/v1/collections');
      expect(list2.body.collections.map((c) => c.name)).toEqual([CORPUS_COLLECTION]);

      // The name is free again, and the new collection starts empty.
      const again = await create('lifecycle');
      expect(again.document_count).toBe(0);
      expect((await search('lifecycle', { query: 'stars', k: 5 })).length).toBe(0);
      expect((await call('DELETE', '/v1/collections/lifecycle')).status).toBe(200);
    });
  });

  describe('documents', () => {
    it('gets what was upserted', async () => {
      const doc = byId.get('food-3')!;
      const res = await call<{ id: string; text: string; title: string | null; metadata: Meta; content_hash: string }>(
        'GET',
        `/v1/collections/${CORPUS_COLLECTION}/documents/food-3`,
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: 'food-3', text: doc.text, title: null, metadata: doc.metadata });
      expect(res.body.content_hash).toMatch(/^[0-9a-f]{64}$/);
      const missing = await call<{ error: { code: string } }>('GET', `/v1/collections/${CORPUS_COLLECTION}/documents/nope`);
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('document_not_found');
    });

    it('re-upserting is idempotent by id', async () => {
      const col = `idem_${backend}`;
      await create(col);
      expect(await upsert(col, CORPUS.slice(0, 10))).toEqual({ upserted: 10, unchanged: 0, count: 10 });
      const before = await call<{ updated_at: string }>('GET', `/v1/collections/${col}/documents/space-2`);
      // The same id twice (in two requests), and the whole batch again: nothing changes.
      expect(await upsert(col, [CORPUS[2]])).toEqual({ upserted: 0, unchanged: 1, count: 1 });
      expect(await upsert(col, CORPUS.slice(0, 10))).toEqual({ upserted: 0, unchanged: 10, count: 10 });
      // A mix: 10 known, 5 new.
      expect(await upsert(col, CORPUS.slice(0, 15))).toEqual({ upserted: 5, unchanged: 10, count: 15 });
      expect((await info(col)).document_count).toBe(15);
      expect(await remoteIds(col)).toEqual(fake ? CORPUS.slice(0, 15).map((d) => d.id).sort() : undefined);
      const after = await call<{ updated_at: string }>('GET', `/v1/collections/${col}/documents/space-2`);
      expect(after.body.updated_at).toBe(before.body.updated_at);
      // Only metadata changed: that is a change too.
      const changed = { ...CORPUS[2]!, metadata: { ...CORPUS[2]!.metadata, rating: 99 } };
      expect(await upsert(col, [changed])).toEqual({ upserted: 1, unchanged: 0, count: 1 });
      expect((await search(col, { query: 'rocket', mode: 'keyword', filter: { rating: 99 } })).map((h) => h.id)).toEqual(['space-2']);
      // The index holds the new metadata too (dense filtering happens in the index).
      expect(ids(await search(col, { query: 'anything', k: 20, filter: { rating: 99 } }))).toEqual(['space-2']);
      expect(ids(await search(col, { query: 'anything', k: 20, filter: { rating: CORPUS[2]!.metadata.rating } }))).not.toContain('space-2');
      expect((await info(col)).document_count).toBe(15);
      expect((await call('DELETE', `/v1/collections/${col}`)).status).toBe(200);
    });

    it('an update replaces the text and search reflects it', async () => {
      const col = `update_${backend}`;
      await create(col);
      await upsert(col, CORPUS);
      const target = 'food-4'; // the sponge cake
      const oldHits = await search(col, { mode: 'keyword', query: 'sponge', k: 10 });
      expect(ids(oldHits)).toEqual([target]);

      const newText = 'Jupiter is the largest planet, a gas giant with a great red storm and dozens of moons.';
      expect(await upsert(col, [{ id: target, text: newText, metadata: { ...byId.get(target)!.metadata, category: 'space' } }])).toEqual({
        upserted: 1,
        unchanged: 0,
        count: 1,
      });
      const got = await call<{ text: string; metadata: Meta }>('GET', `/v1/collections/${col}/documents/${target}`);
      expect(got.body.text).toBe(newText);
      expect(got.body.metadata.category).toBe('space');
      expect((await info(col)).document_count).toBe(40);

      expect(await search(col, { mode: 'keyword', query: 'sponge', k: 10 })).toEqual([]);
      expect(ids(await search(col, { mode: 'keyword', query: 'jupiter', k: 10 }))).toEqual([target]);
      // Dense: the new text is found by its own meaning, and the filter sees the new metadata.
      const dense = await search(col, { query: 'the biggest gas giant planet in the solar system', k: 3 });
      expect(dense[0]!.id).toBe(target);
      const cakes = await search(col, { query: 'sponge cake dessert with eggs and sugar', k: 40, filter: { category: 'food' } });
      expect(ids(cakes)).not.toContain(target);
      expect(cakes.length).toBe(9);
      const vector = (await embed([newText]))[0]!;
      const byVector = await search(col, { vector, k: 1 });
      expect(byVector[0]!.id).toBe(target);
      expect(byVector[0]!.score).toBeCloseTo(1, 4);
      expect((await call('DELETE', `/v1/collections/${col}`)).status).toBe(200);
    });

    it('deletes by id and by filter', async () => {
      const col = `delete_${backend}`;
      await create(col);
      await upsert(col, CORPUS);

      const one = await call('DELETE', `/v1/collections/${col}/documents/tech-3`);
      expect(one).toMatchObject({ status: 200, body: { deleted: 1, ids: ['tech-3'] } });
      expect((await call('GET', `/v1/collections/${col}/documents/tech-3`)).status).toBe(404);
      const again = await call<{ error: { code: string } }>('DELETE', `/v1/collections/${col}/documents/tech-3`);
      expect(again.status).toBe(404);
      expect(again.body.error.code).toBe('document_not_found');
      expect((await info(col)).document_count).toBe(39);
      const python = await search(col, { mode: 'keyword', query: 'python', k: 10 });
      expect(python).toEqual([]);
      const denseAll = await search(col, { query: 'Python programming language for data analysis', k: 1000 });
      expect(denseAll.length).toBe(39);
      expect(ids(denseAll)).not.toContain('tech-3');

      const many = await call<{ deleted: number; ids: string[] }>('POST', `/v1/collections/${col}/documents/delete`, {
        ids: ['tech-4', 'tech-5', 'tech-3', 'does-not-exist'],
      });
      expect(many.status).toBe(200);
      expect(many.body.deleted).toBe(2);
      expect([...many.body.ids].sort()).toEqual(['tech-4', 'tech-5']);
      expect((await info(col)).document_count).toBe(37);

      const remaining = CORPUS.filter((d) => !['tech-3', 'tech-4', 'tech-5'].includes(d.id));
      const filter = { $or: [{ year: { $lt: 2017 } }, { category: 'sports', featured: true }] };
      const expected = idsWhere((m) => m.year < 2017 || (m.category === 'sports' && m.featured), remaining);
      expect(expected.length).toBeGreaterThan(3);
      const byFilter = await call<{ deleted: number; ids: string[] }>('POST', `/v1/collections/${col}/documents/delete`, { filter });
      expect(byFilter.status).toBe(200);
      expect(byFilter.body.deleted).toBe(expected.length);
      expect([...byFilter.body.ids].sort()).toEqual(expected);
      const left = remaining.filter((d) => !expected.includes(d.id));
      expect((await info(col)).document_count).toBe(left.length);
      expect(ids(await search(col, { query: 'anything at all', k: 1000 })).sort()).toEqual(left.map((d) => d.id).sort());
      expect(await remoteIds(col)).toEqual(fake ? left.map((d) => d.id).sort() : undefined);
      // A filter matching nothing deletes nothing.
      const none = await call('POST', `/v1/collections/${col}/documents/delete`, { filter: { year: 1999 } });
      expect(none).toMatchObject({ status: 200, body: { deleted: 0, ids: [] } });
      expect((await info(col)).document_count).toBe(left.length);
      expect((await call('DELETE', `/v1/collections/${col}`)).status).toBe(200);
    });

    it('ids with any characters, titles, accents and a deleted id coming back', async () => {
      const col = `edge_${backend}`;
      await create(col);
      const docs = [
        { id: 'a/b', text: 'A slash in the id; the café serves espresso.', metadata: { kind: 'slash' } },
        { id: 'ünï cödé?#&', text: 'Unicode, spaces and URL syntax in the id.', metadata: { kind: 'unicode' } },
        { id: 'titled', title: 'Zebra migration', text: 'Herds cross the river every year.', metadata: { kind: 'titled' } },
      ];
      expect(await upsert(col, docs)).toEqual({ upserted: 3, unchanged: 0, count: 3 });
      for (const d of docs) {
        const got = await call<{ id: string; text: string; title: string | null; metadata: unknown }>('GET', `/v1/collections/${col}/documents/${encodeURIComponent(d.id)}`);
        expect(got.status, d.id).toBe(200);
        expect(got.body).toMatchObject({ id: d.id, text: d.text, title: d.title ?? null, metadata: d.metadata });
      }
      // Accents are folded for keyword search; the title is searchable and returned with the text.
      expect(ids(await search(col, { mode: 'keyword', query: 'cafe' }))).toEqual(['a/b']);
      const zebra = await search(col, { mode: 'keyword', query: 'zebra', include_text: true });
      expect(zebra).toEqual([{ id: 'titled', score: expect.any(Number), metadata: { kind: 'titled' }, text: docs[2]!.text, title: 'Zebra migration' }]);
      // FTS syntax in a query is just text.
      expect(await search(col, { mode: 'keyword', query: 'NEAR(qq ww) "zz* OR -yy ^' })).toEqual([]);
      expect(ids(await search(col, { mode: 'keyword', query: 'NEAR(zebra "herds* OR -river ^' }))).toEqual(['titled']);
      expect(await search(col, { mode: 'keyword', query: '!!! ???' })).toEqual([]);
      expect(ids(await search(col, { query: 'animals crossing a river', k: 1 }))).toEqual(['titled']);

      const del = await call('DELETE', `/v1/collections/${col}/documents/${encodeURIComponent('a/b')}`);
      expect(del).toMatchObject({ status: 200, body: { deleted: 1, ids: ['a/b'] } });
      expect(ids(await search(col, { query: 'coffee shop', k: 10 })).sort()).toEqual(['titled', 'ünï cödé?#&']);
      // The same id again, with other text and metadata.
      expect(await upsert(col, [{ id: 'a/b', text: 'Back again, now about volcanoes and lava.', metadata: { kind: 'back' } }])).toEqual({ upserted: 1, unchanged: 0, count: 1 });
      expect((await info(col)).document_count).toBe(3);
      const lava = await search(col, { query: 'volcano eruption with lava', k: 3, filter: { kind: 'back' } });
      expect(ids(lava)).toEqual(['a/b']);
      expect(await search(col, { query: 'volcano eruption with lava', k: 3, filter: { kind: 'slash' } })).toEqual([]);
      expect(await remoteIds(col)).toEqual(fake ? ['a/b', 'titled', 'ünï cödé?#&'] : undefined);
      expect((await call('DELETE', `/v1/collections/${col}`)).status).toBe(200);
    });

    it('collection settings are kept and the default alpha applies', async () => {
      const col = `settings_${backend}`;
      const res = await call<CollectionBody>('POST', '/v1/collections', { name: col, backend, hnsw: { M: 8, efConstruction: 64, efSearch: 32 }, hybrid_alpha: 0.75 });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ hnsw: { M: 8, efConstruction: 64, efSearch: 32 }, hybrid_alpha: 0.75, backend });
      expect(await info(col)).toEqual({ ...res.body, lineage: null });
      await upsert(col, CORPUS.slice(0, 20));
      const hits = await search(col, { mode: 'hybrid', query: 'telescope and stars', k: 3, explain: true });
      expect(hits.map((h) => h.explain!.alpha)).toEqual([0.75, 0.75, 0.75]);
      expect(hits[0]!.id).toBe('space-0');
      expect((await call('DELETE', `/v1/collections/${col}`)).status).toBe(200);
    });

    it.runIf(backend === 'pinecone')('a Pinecone failure during upsert writes nothing', async () => {
      const col = 'pc_fail';
      await create(col);
      await upsert(col, CORPUS.slice(0, 5));
      // Every attempt of the one upsert call fails (first try plus the client's retries).
      fake!.failNext(500, DEFAULT_PINECONE_MAX_RETRIES + 1);
      const before = fake!.requests.length;
      const res = await call<{ error: { code: string; message: string } }>('POST', `/v1/collections/${col}/documents`, { documents: CORPUS.slice(5, 10) });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('backend_unavailable');
      expect(fake!.requests.slice(before).map((r) => r.path)).toEqual(Array(DEFAULT_PINECONE_MAX_RETRIES + 1).fill('/vectors/upsert'));
      expect((await info(col)).document_count).toBe(5);
      expect((await call('GET', `/v1/collections/${col}/documents/${CORPUS[5]!.id}`)).status).toBe(404);
      expect(await remoteIds(col)).toEqual(CORPUS.slice(0, 5).map((d) => d.id).sort());
      // The same request succeeds once Pinecone is back.
      expect(await upsert(col, CORPUS.slice(5, 10))).toEqual({ upserted: 5, unchanged: 0, count: 5 });
      expect((await info(col)).document_count).toBe(10);
      expect((await call('DELETE', `/v1/collections/${col}`)).status).toBe(200);
    });
  });

  describe('search', () => {
    const topics: [Meta['category'], string][] = [
      ['space', 'planets, stars and telescopes in outer space'],
      ['food', 'cooking a delicious meal in the kitchen'],
      ['sports', 'a soccer team playing a match'],
      ['tech', 'software development and computer programming'],
    ];

    it.each(topics)('dense: a query about %s ranks that topic first', async (category, query) => {
      const hits = await search(CORPUS_COLLECTION, { query, k: 5 });
      expect(hits).toHaveLength(5);
      expect(hits.map((h) => h.metadata.category)).toEqual(Array(5).fill(category));
      for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);
      expect(hits[0]!.metadata).toEqual(byId.get(hits[0]!.id)!.metadata);
    });

    it('dense: k defaults to 10 and k larger than the collection returns every document once', async () => {
      expect(await search(CORPUS_COLLECTION, { query: 'anything' })).toHaveLength(10);
      const all = await search(CORPUS_COLLECTION, { query: 'anything', k: 1000 });
      expect(ids(all).sort()).toEqual(CORPUS.map((d) => d.id).sort());
    });

    it('keyword: finds exactly the documents containing the terms, best first', async () => {
      const hits = await search(CORPUS_COLLECTION, { mode: 'keyword', query: 'telescope', k: 100 });
      expect(ids(hits).sort()).toEqual(CORPUS.filter((d) => /\btelescopes?\b/i.test(d.text)).map((d) => d.id).sort());
      expect(ids(hits).sort()).toEqual(['space-0', 'space-9']);
      // Shorter document with the same term frequency scores higher under BM25.
      expect(ids(hits)).toEqual(['space-0', 'space-9']);

      const two = await search(CORPUS_COLLECTION, { mode: 'keyword', query: 'Recipe, GOALKEEPER?', k: 100 });
      expect(ids(two).sort()).toEqual(['food-0', 'food-6', 'sports-1']);
      const none = await search(CORPUS_COLLECTION, { mode: 'keyword', query: 'xylophone', k: 100 });
      expect(none).toEqual([]);
      const limited = await search(CORPUS_COLLECTION, { mode: 'keyword', query: 'the', k: 3 });
      expect(limited).toHaveLength(3);
    });

    it.each(topics)('hybrid: a query about %s ranks that topic first', async (category, query) => {
      const hits = await search(CORPUS_COLLECTION, { mode: 'hybrid', query, k: 3 });
      expect(hits).toHaveLength(3);
      expect(hits.map((h) => h.metadata.category)).toEqual(Array(3).fill(category));
    });

    it('vector: a document\'s own embedding finds it first', async () => {
      const picks = ['space-3', 'food-7', 'sports-6', 'tech-2'];
      const vectors = await embed(picks.map((id) => byId.get(id)!.text));
      for (const [i, id] of picks.entries()) {
        const hits = await search(CORPUS_COLLECTION, { vector: vectors[i], k: 3 });
        expect(hits[0]!.id).toBe(id);
        expect(hits[0]!.score).toBeCloseTo(1, 4);
        expect(hits[1]!.score).toBeLessThan(0.99);
        // A scaled copy is the same direction: same results.
        const scaled = await search(CORPUS_COLLECTION, { vector: vectors[i]!.map((v) => v * 7.5), k: 3 });
        expect(ids(scaled)).toEqual(ids(hits));
      }
      // A vector plus a filter that excludes its document.
      const filtered = await search(CORPUS_COLLECTION, { vector: vectors[0], k: 3, filter: { category: { $ne: 'space' } } });
      expect(filtered).toHaveLength(3);
      expect(filtered.every((h) => h.metadata.category !== 'space')).toBe(true);
    });

    it.each(FILTER_CASES)('filter $name returns exactly the matching documents', async ({ filter, expect: pred }) => {
      const expected = idsWhere(pred);
      const dense = await search(CORPUS_COLLECTION, { query: 'an interesting article', k: 1000, filter });
      expect(ids(dense).sort()).toEqual(expected);
      for (const h of dense) expect(h.metadata).toEqual(byId.get(h.id)!.metadata);
      // Keyword and hybrid apply the same filter ('the' appears in most documents).
      const keyword = await search(CORPUS_COLLECTION, { mode: 'keyword', query: 'the a and of', k: 1000, filter });
      const keywordAll = await search(CORPUS_COLLECTION, { mode: 'keyword', query: 'the a and of', k: 1000 });
      expect(ids(keyword).sort()).toEqual(ids(keywordAll).filter((id) => expected.includes(id)).sort());
      const hybrid = await search(CORPUS_COLLECTION, { mode: 'hybrid', query: 'the a and of', k: 1000, filter });
      expect(ids(hybrid).sort()).toEqual(expected);
    });

    it('the expected filter sets are neither empty nor everything (except the two meant to be empty)', () => {
      const sizes = FILTER_CASES.map((c) => idsWhere(c.expect).length);
      expect(sizes.filter((n) => n === 0)).toHaveLength(2);
      expect(sizes.filter((n) => n > 0 && n < 40)).toHaveLength(FILTER_CASES.length - 2);
      // Both sides of hnsw's exact-scan threshold (about 20 matches at 40 documents) are covered.
      expect(sizes.some((n) => n > 0 && n < 10)).toBe(true);
      expect(sizes.some((n) => n > 25)).toBe(true);
    });

    it(`string range bounds ${backend === 'hnsw' ? 'compare strings' : 'are refused with a clear 400 (Pinecone compares numbers only)'}`, async () => {
      const res = await call<SearchBody & { error: { code: string; message: string } }>('POST', `/v1/collections/${CORPUS_COLLECTION}/search`, {
        query: 'anything',
        k: 100,
        filter: { category: { $gte: 'space' } },
      });
      if (backend === 'hnsw') {
        expect(res.status).toBe(200);
        expect(ids(res.body.results).sort()).toEqual(idsWhere((m) => m.category >= 'space'));
      } else {
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('invalid_input');
        expect(res.body.error.message).toContain('numbers');
      }
    });

    it('filtered dense search returns the true top min(k, matches) by score', async () => {
      const query = 'a football match in a stadium';
      const all = await search(CORPUS_COLLECTION, { query, k: 1000 });
      expect(all).toHaveLength(40);
      for (const { filter, expect: pred } of FILTER_CASES) {
        const matching = all.filter((h) => pred(byId.get(h.id)!.metadata));
        for (const k of [1, 3, 7, 25]) {
          const hits = await search(CORPUS_COLLECTION, { query, k, filter });
          const label = `${JSON.stringify(filter)} k=${k}`;
          expect(hits.length, label).toBe(Math.min(k, matching.length));
          expect(hits.every((h) => pred(byId.get(h.id)!.metadata)), label).toBe(true);
          expect(ids(hits), label).toEqual(ids(matching.slice(0, k)));
          hits.forEach((h, i) => expect(h.score, label).toBeCloseTo(matching[i]!.score, 5));
        }
      }
    });

    it('explain reports the ranks and scores behind each hit', async () => {
      const query = 'recipe with fresh tomatoes and garlic';
      const dense = await search(CORPUS_COLLECTION, { query, k: 5, explain: true });
      // Ranks and scores here; the reasons (passages, query words, BM25 terms) are checked in tests/acceptance/explain.test.ts.
      dense.forEach((h, i) => expect(h.explain).toMatchObject({ dense: { rank: i + 1, score: h.score }, keyword: null }));

      const keyword = await search(CORPUS_COLLECTION, { mode: 'keyword', query, k: 5, explain: true });
      expect(keyword.length).toBe(5);
      keyword.forEach((h, i) => expect(h.explain).toMatchObject({ dense: null, keyword: { rank: i + 1, score: h.score } }));

      const plain = await search(CORPUS_COLLECTION, { query, k: 5 });
      expect(plain.every((h) => h.explain === undefined)).toBe(true);

      // Hybrid: the fused score is alpha * minmax(dense) + (1 - alpha) * minmax(keyword) over
      // both candidate lists (all 40 documents here), recomputed from the single-mode searches.
      const alpha = 0.4;
      const denseAll = await search(CORPUS_COLLECTION, { query, k: 1000 });
      const keywordAll = await search(CORPUS_COLLECTION, { mode: 'keyword', query, k: 1000 });
      const norm = (list: Hit[]) => {
        const scores = list.map((h) => h.score);
        const min = Math.min(...scores);
        const max = Math.max(...scores);
        return new Map(list.map((h) => [h.id, max > min ? (h.score - min) / (max - min) : 1]));
      };
      const dn = norm(denseAll);
      const kn = norm(keywordAll);
      const expectedOrder = CORPUS.map((d) => ({ id: d.id, score: alpha * (dn.get(d.id) ?? 0) + (1 - alpha) * (kn.get(d.id) ?? 0) })).sort(
        (a, b) => b.score - a.score || (a.id < b.id ? -1 : 1),
      );
      const hybrid = await search(CORPUS_COLLECTION, { mode: 'hybrid', query, k: 8, alpha, explain: true });
      expect(ids(hybrid)).toEqual(expectedOrder.slice(0, 8).map((e) => e.id));
      hybrid.forEach((h, i) => {
        expect(h.score).toBeCloseTo(expectedOrder[i]!.score, 5);
        const dRank = denseAll.findIndex((d) => d.id === h.id);
        const kRank = keywordAll.findIndex((d) => d.id === h.id);
        expect(h.explain!.alpha).toBe(alpha);
        expect(h.explain!.dense).toMatchObject({ rank: dRank + 1, score: expect.closeTo(denseAll[dRank]!.score, 5) });
        if (kRank < 0) expect(h.explain!.keyword).toBeNull();
        else expect(h.explain!.keyword).toMatchObject({ rank: kRank + 1, score: expect.closeTo(keywordAll[kRank]!.score, 5) });
      });
      expect(hybrid[0]!.id).toBe('food-0');
    });

    it('include_text adds the stored text', async () => {
      const withText = await search(CORPUS_COLLECTION, { query: 'bread in the oven', k: 4, include_text: true });
      expect(withText).toHaveLength(4);
      for (const h of withText) {
        expect(h.text).toBe(byId.get(h.id)!.text);
        expect(h.title).toBeNull();
      }
      const keyword = await search(CORPUS_COLLECTION, { mode: 'keyword', query: 'bread', k: 4, include_text: true });
      expect(keyword.map((h) => [h.id, h.text])).toEqual([['food-1', byId.get('food-1')!.text]]);
      const without = await search(CORPUS_COLLECTION, { query: 'bread in the oven', k: 4 });
      expect(without.every((h) => !('text' in h) && !('title' in h))).toBe(true);
      expect(ids(without)).toEqual(ids(withText));
    });

    it('alpha 0 ranks like keyword search and alpha 1 like dense search', async () => {
      for (const query of ['the team won the match', 'fresh bread and chocolate', 'the code and the tests']) {
        const keyword = await search(CORPUS_COLLECTION, { mode: 'keyword', query, k: 100 });
        expect(keyword.length, query).toBeGreaterThan(6);
        const k = 5;
        const hybrid0 = await search(CORPUS_COLLECTION, { mode: 'hybrid', query, k, alpha: 0 });
        expect(ids(hybrid0), query).toEqual(ids(keyword.slice(0, k)));

        const dense = await search(CORPUS_COLLECTION, { query, k: 10 });
        const hybrid1 = await search(CORPUS_COLLECTION, { mode: 'hybrid', query, k: 10, alpha: 1 });
        expect(ids(hybrid1), query).toEqual(ids(dense));
        expect(hybrid1[0]!.score).toBe(1);
        expect(hybrid0[0]!.score).toBe(1);
      }
    });

    it('reports the model, generation and timing', async () => {
      const sent = performance.now();
      const res = await call<SearchBody>('POST', `/v1/collections/${CORPUS_COLLECTION}/search`, { query: 'stars', k: 1 });
      const roundTrip = performance.now() - sent;
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const col = await info(CORPUS_COLLECTION);
      expect(res.body.model).toBe(col.model);
      expect(res.body.generation).toBe(col.generation);
      // The server's own time for this search (query embedding included): a positive, finite
      // number within the time the client measured around the same request, on the same clock
      // (the app runs in this process), and rounded to 0.01 ms (hence the half-step allowance).
      expect(typeof res.body.took_ms).toBe('number');
      expect(Number.isFinite(res.body.took_ms)).toBe(true);
      expect(res.body.took_ms).toBeGreaterThan(0);
      expect(res.body.took_ms).toBeLessThanOrEqual(roundTrip + 0.005);
      expect(Math.round(res.body.took_ms * 100) / 100).toBe(res.body.took_ms);
    });
  });
});

describe('bad requests to collections, documents and search', () => {
  const seeded = useSeededApp('sextant-collections-errors-', (dataDir) => startTestApp({ dataDir, ...LIMITS }));
  const { COL, call, upsertRaw, searchRaw, expectIntact } = seeded;

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
    const { vector } = seeded;
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

  it('duplicate ids in one upsert write nothing', async () => {
    const err = expectError(await upsertRaw({ documents: [valid('new1'), valid('new2'), { id: 'new1', text: 'again' }] }), 400, 'invalid_input');
    expect(err.message).toContain('new1');
    // Even when the duplicate is an existing document.
    expectError(await upsertRaw({ documents: [{ id: 'a', text: 'changed' }, valid('new1'), { id: 'a', text: 'changed' }] }), 400, 'invalid_input');
    const a = await call('GET', `/v1/collections/${COL}/documents/a`);
    expect((a.body as { text: string }).text).toBe(SEED[0]!.text);
    await expectIntact();
  });

  it('collection settings reject bad input and change nothing', async () => {
    const before = (await call('GET', `/v1/collections/${COL}`)).body;
    expectError(await call('PATCH', `/v1/collections/${COL}`, { target: 'nope@9' }), 404, 'model_not_found');
    expectError(await call('PATCH', `/v1/collections/${COL}`, { hybrid_alpha: 2 }), 400, 'invalid_input');
    expectError(await call('PATCH', `/v1/collections/${COL}`, { policy: 'sometimes' }), 400, 'invalid_input');
    expectError(await call('PATCH', `/v1/collections/${COL}`, { hnsw: { M: 8 } }), 400, 'invalid_input');
    expectError(await call('PATCH', '/v1/collections/missing', { hybrid_alpha: 0.5 }), 404, 'collection_not_found');
    expect((await call('GET', `/v1/collections/${COL}`)).body).toEqual(before);
    await expectIntact();
  });

  it("'__proto__' in a filter or as a metadata key is refused, never dropped; 'constructor' is an ordinary field", async () => {
    // Raw JSON: a JavaScript literal cannot hold an own '__proto__' key, JSON.parse makes one.
    // Dropped, the first filter would delete document 'a' and the second every document.
    for (const filter of ['{"__proto__": "x", "year": 2020}', '{"__proto__": "x"}', '{"__proto__": {"$ne": 1}}', '{"$or": [{"year": 1999}, {"__proto__": 1}]}']) {
      const del = expectError(await call('POST', `/v1/collections/${COL}/documents/delete`, `{"filter": ${filter}}`), 400, 'invalid_input');
      expect(del.message, filter).toContain("'__proto__'");
      for (const mode of ['dense', 'keyword', 'hybrid']) {
        const found = expectError(await searchRaw(`{"query": "fox", "mode": "${mode}", "filter": ${filter}}`), 400, 'invalid_input');
        expect(found.message, filter).toContain("'__proto__'");
      }
    }
    const upsert = expectError(await upsertRaw('{"documents": [{"id": "new1", "text": "fox", "metadata": {"__proto__": "x", "tag": "t"}}]}'), 400, 'invalid_input');
    expect(upsert.message).toContain('documents.0.metadata.__proto__');
    await expectIntact();

    // Other names Object.prototype has are kept as metadata and filtered on like any field.
    const doc = { id: 'new1', text: 'A fox with an unusual tag.', metadata: { constructor: 'c', toString: 1 } };
    expect((await upsertRaw({ documents: [doc] })).status).toBe(200);
    expect((await call('GET', `/v1/collections/${COL}/documents/new1`)).body).toMatchObject({ metadata: doc.metadata });
    const hits = await searchRaw({ query: 'fox', k: 50, filter: { constructor: 'c', toString: { $gte: 1 } } });
    expect((hits.body as { results: { id: string }[] }).results.map((r) => r.id)).toEqual(['new1']);
    const deleted = await call('POST', `/v1/collections/${COL}/documents/delete`, { filter: { constructor: 'c' } });
    expect(deleted).toMatchObject({ status: 200, body: { deleted: 1, ids: ['new1'] } });
    await expectIntact();
  });
});
