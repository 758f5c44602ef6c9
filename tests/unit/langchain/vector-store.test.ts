/**
 * `sextant/langchain` against a real server (in process, real USE-Lite ONNX model) through the
 * real @langchain/core: the vector store, its retriever and the embeddings. Each test uses its
 * own collection, so none depends on another's writes.
 */
import { Document } from '@langchain/core/documents';
import { SextantEmbeddings, SextantVectorStore } from 'sextant/langchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/api/server.ts';
import {
  CollectionNotFoundApiError,
  EmptyTextApiError,
  InvalidInputApiError,
  InvalidVectorApiError,
  SextantClient,
} from '../../../src/client/index.ts';
import { startTestServer, tempDir } from '../../helpers/server.ts';
import { cosine } from '../../helpers/vectors.ts';

/** Eight short texts on distinct topics; `group` alternates so a filter can exclude half. */
const CORPUS = [
  { id: 'food', text: 'The baker pulled fresh sourdough bread out of the hot oven.', metadata: { topic: 'food', group: 'a', n: 0 } },
  { id: 'sports', text: 'The striker scored a late goal and the football team won the match.', metadata: { topic: 'sports', group: 'b', n: 1 } },
  { id: 'space', text: 'Astronomers observed a distant galaxy through a large telescope.', metadata: { topic: 'space', group: 'a', n: 2 } },
  { id: 'finance', text: 'Stock prices fell sharply as investors sold their shares.', metadata: { topic: 'finance', group: 'b', n: 3 } },
  { id: 'health', text: 'The doctor prescribed antibiotics for the bacterial infection.', metadata: { topic: 'health', group: 'a', n: 4 } },
  { id: 'weather', text: 'Heavy rain and strong winds will hit the coast during tonight’s storm.', metadata: { topic: 'weather', group: 'b', n: 5 } },
  { id: 'tech', text: 'The programmer fixed a memory leak in the JavaScript code.', metadata: { topic: 'tech', group: 'a', n: 6 } },
  { id: 'pets', text: 'The cat curled up and purred on the warm windowsill.', metadata: { topic: 'pets', group: 'b', n: 7 } },
];
const TEXTS = CORPUS.map((d) => d.text);
const METADATAS = CORPUS.map((d) => d.metadata);
const SPORTS_QUERY = 'Which soccer team won the game?';

describe('sextant/langchain', () => {
  let server: RunningServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let url: string;
  let client: SextantClient;
  let seq = 0;
  /** A fresh collection name per test. */
  const name = (label: string) => `lc_${label}_${++seq}`;

  beforeAll(async () => {
    dir = await tempDir('sextant-langchain-');
    server = await startTestServer({ dataDir: dir.path });
    url = server.url;
    client = new SextantClient({ url });
  });

  afterAll(async () => {
    await server?.close();
    await dir?.remove();
  });

  /** fromTexts with generated ids; returns the store and the ids in CORPUS order. */
  const corpusStore = async (collection: string, extra: Partial<ConstructorParameters<typeof SextantVectorStore>[0]> = {}) =>
    SextantVectorStore.fromTexts(TEXTS, METADATAS, undefined, { url, collection, ...extra });

  it('fromTexts creates the collection, and the retriever ranks the paraphrased text first', async () => {
    const collection = name('retriever');
    const store = await corpusStore(collection);
    expect(store._vectorstoreType()).toBe('sextant');
    expect((await client.getCollection(collection)).document_count).toBe(CORPUS.length);

    const docs = await store.asRetriever({ k: 3 }).invoke(SPORTS_QUERY);
    expect(docs.length).toBeGreaterThan(0);
    expect(docs.length).toBeLessThanOrEqual(3);
    expect(docs[0]!.pageContent).toBe(CORPUS[1]!.text);
    expect(docs[0]!.metadata).toEqual(CORPUS[1]!.metadata);
    // Generated ids are UUIDs, and the hit's id is the stored document's.
    expect(docs[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await client.getDocument(collection, docs[0]!.id!)).text).toBe(CORPUS[1]!.text);

    // similaritySearchWithScore: Sextant's scores, best first.
    const scored = await store.similaritySearchWithScore('a telescope pointed at galaxies in space', 2);
    expect(scored).toHaveLength(2);
    expect(scored[0]![0].metadata.topic).toBe('space');
    expect(scored[0]![1]).toBeGreaterThan(scored[1]![1]);

    // The store's default k (4) applies to a retriever that sets none.
    expect(await store.asRetriever().invoke(SPORTS_QUERY)).toHaveLength(4);
    expect(await store.withSearchOptions({ k: 2 }).asRetriever().invoke(SPORTS_QUERY)).toHaveLength(2);
  });

  it('a filter narrows results, in the retriever and in similaritySearch', async () => {
    const store = await corpusStore(name('filter'));
    const viaRetriever = await store.asRetriever({ k: 3, filter: { group: 'a' } }).invoke(SPORTS_QUERY);
    expect(viaRetriever).toHaveLength(3);
    for (const doc of viaRetriever) expect(doc.metadata.group).toBe('a');

    const viaSearch = await store.similaritySearch(SPORTS_QUERY, 8, { $and: [{ n: { $gte: 2 } }, { topic: { $in: ['sports', 'space', 'pets'] } }] });
    expect(viaSearch.map((d) => d.metadata.topic).sort()).toEqual(['pets', 'space']);
  });

  it('delete({ ids }) and delete({ filter }) remove documents from search', async () => {
    const collection = name('delete');
    const store = await corpusStore(collection);
    const before = await store.similaritySearch(SPORTS_QUERY, 1);
    expect(before[0]!.metadata.topic).toBe('sports');

    await store.delete({ ids: [before[0]!.id!] });
    const after = await store.similaritySearch(SPORTS_QUERY, 8);
    expect(after).toHaveLength(7);
    expect(after.map((d) => d.metadata.topic)).not.toContain('sports');

    await store.delete({ filter: { group: 'a' } });
    const rest = await store.similaritySearch(SPORTS_QUERY, 8);
    expect(rest.map((d) => d.metadata.topic).sort()).toEqual(['finance', 'pets', 'weather']);
    expect((await client.getCollection(collection)).document_count).toBe(3);

    await expect(store.delete({})).rejects.toThrow(TypeError);
  });

  it('addDocuments keeps given ids (options.ids or Document.id) and stores metadata as JSON', async () => {
    const collection = name('ids');
    await client.createCollection({ name: collection });
    const store = new SextantVectorStore({ url, collection });
    const when = new Date('2024-05-06T07:08:09.000Z');
    const ids = await store.addDocuments(
      [
        new Document({ pageContent: CORPUS[0]!.text, metadata: { topic: 'food', when, gone: undefined, nested: { a: [1, 2] } } }),
        new Document({ pageContent: CORPUS[2]!.text, metadata: { topic: 'space' } }),
      ],
      { ids: ['doc-food', 'doc-space'] },
    );
    expect(ids).toEqual(['doc-food', 'doc-space']);
    const food = await client.getDocument(collection, 'doc-food');
    expect(food.text).toBe(CORPUS[0]!.text);
    // JSON.stringify's conversion: the Date as its ISO string, undefined dropped.
    expect(food.metadata).toEqual({ topic: 'food', when: when.toISOString(), nested: { a: [1, 2] } });

    const own = await store.addDocuments([new Document({ pageContent: CORPUS[4]!.text, metadata: { topic: 'health' }, id: 'own-id' })]);
    expect(own).toEqual(['own-id']);
    expect((await client.getDocument(collection, 'own-id')).metadata).toEqual({ topic: 'health' });

    const hit = (await store.similaritySearch('a cold winter storm with rain', 1))[0]!;
    expect(hit).toBeInstanceOf(Document);
    expect(['doc-food', 'doc-space', 'own-id']).toContain(hit.id);

    await expect(store.addDocuments([new Document({ pageContent: 'x' })], { ids: ['a', 'b'] })).rejects.toThrow(TypeError);
  });

  it('upserts in batches of batchSize documents', async () => {
    const collection = name('batches');
    const store = await SextantVectorStore.fromTexts(TEXTS, METADATAS, undefined, { url, collection, batchSize: 3 });
    expect((await client.getCollection(collection)).document_count).toBe(CORPUS.length);
    const docs = await store.similaritySearch(SPORTS_QUERY, 8);
    expect(docs.map((d) => d.metadata.n).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('addVectors stores the given vectors, and similaritySearchVectorWithScore finds them', async () => {
    const collection = name('vectors');
    await client.createCollection({ name: collection });
    const store = await SextantVectorStore.fromExistingCollection({ url, collection });
    expect(store.embeddings).toBeInstanceOf(SextantEmbeddings);

    const vectors = await store.embeddings.embedDocuments(TEXTS);
    expect(vectors).toHaveLength(TEXTS.length);
    expect(vectors[0]).toHaveLength((await client.getCollection(collection)).dimensions);
    const docs = CORPUS.map((d) => new Document({ pageContent: d.text, metadata: d.metadata }));
    const ids = await store.addVectors(vectors, docs, { ids: CORPUS.map((d) => d.id) });
    expect(ids).toEqual(CORPUS.map((d) => d.id));
    expect((await client.getDocument(collection, 'tech')).metadata).toEqual(CORPUS[6]!.metadata);

    const found = await store.similaritySearchVectorWithScore(await store.embeddings.embedQuery(SPORTS_QUERY), 3);
    expect(found).toHaveLength(3);
    expect(found[0]![0].id).toBe('sports');
    expect(found[0]![0].pageContent).toBe(CORPUS[1]!.text);

    // The server keeps a supplied vector rather than embedding the text: a document whose text
    // is about cats but whose vector is the football text's is what a search with that vector finds.
    await store.addVectors([vectors[1]!], [new Document({ pageContent: CORPUS[7]!.text, metadata: { topic: 'decoy' } })], { ids: ['decoy'] });
    const withFilter = await store.similaritySearchVectorWithScore(vectors[1]!, 1, { topic: 'decoy' });
    expect(withFilter[0]![0].id).toBe('decoy');
    expect(withFilter[0]![1]).toBeCloseTo(1, 4);
  });

  it('embeddings batch by batchSize and keep the input order', async () => {
    const collection = name('embeddings');
    await client.createCollection({ name: collection });
    const store = new SextantVectorStore({ url, collection });
    const whole = await store.embeddings.embedDocuments(TEXTS);
    const small = new SextantEmbeddings({ client, model: (await client.getCollection(collection)).model, batchSize: 3 });
    const batched = await small.embedDocuments(TEXTS);
    expect(batched).toHaveLength(TEXTS.length);
    batched.forEach((v, i) => expect(cosine(v, whole[i]!)).toBeCloseTo(1, 5));
    expect(await small.embedDocuments([])).toEqual([]);
    // Queries are embedded as queries; USE-Lite has no query prefix, so the vector is the document one.
    expect(cosine(await small.embedQuery(TEXTS[3]!), whole[3]!)).toBeCloseTo(1, 5);
  });

  it('keyword and hybrid modes search the text', async () => {
    const collection = name('modes');
    const dense = await corpusStore(collection);
    const keyword = new SextantVectorStore({ url, collection, mode: 'keyword' });
    const byWord = await keyword.similaritySearchWithScore('sourdough', 3);
    // BM25 only matches documents containing the word.
    expect(byWord).toHaveLength(1);
    expect(byWord[0]![0].metadata.topic).toBe('food');
    expect(byWord[0]![1]).toBeGreaterThan(0);

    // The retriever goes through the store's text search, so it follows the mode too.
    const viaRetriever = await keyword.asRetriever({ k: 3 }).invoke('antibiotics');
    expect(viaRetriever.map((d) => d.metadata.topic)).toEqual(['health']);

    const hybrid = dense.withSearchOptions({ mode: 'hybrid', alpha: 0.5 });
    const mixed = await hybrid.similaritySearch('telescope', 3);
    expect(mixed.length).toBeGreaterThan(0);
    expect(mixed[0]!.metadata.topic).toBe('space');

    // Per-call override of the mode.
    const overridden = await dense.searchWithScore('JavaScript', { mode: 'keyword', k: 5 });
    expect(overridden.map(([d]) => d.metadata.topic)).toEqual(['tech']);
  });

  it('fromDocuments adds to an existing collection; fromExistingCollection needs one', async () => {
    const collection = name('from_docs');
    const docs = CORPUS.slice(0, 4).map((d) => new Document({ pageContent: d.text, metadata: d.metadata, id: d.id }));
    const store = await SextantVectorStore.fromDocuments(docs, undefined, { url, collection, createCollection: { hybrid_alpha: 0.6 } });
    const info = await client.getCollection(collection);
    expect(info.document_count).toBe(4);
    expect(info.hybrid_alpha).toBeCloseTo(0.6);
    expect((await store.similaritySearch(SPORTS_QUERY, 1))[0]!.id).toBe('sports');

    // A second fromDocuments meets the existing collection (409 collection_exists) and just adds.
    const more = CORPUS.slice(4).map((d) => new Document({ pageContent: d.text, metadata: d.metadata, id: d.id }));
    await SextantVectorStore.fromDocuments(more, undefined, { url, collection });
    expect((await client.getCollection(collection)).document_count).toBe(CORPUS.length);

    const existing = await SextantVectorStore.fromExistingCollection({ client, collection });
    expect(existing.client).toBe(client);
    expect((await existing.similaritySearch('purring cat by the window', 1))[0]!.id).toBe('pets');

    await expect(SextantVectorStore.fromExistingCollection({ url, collection: name('missing') })).rejects.toBeInstanceOf(CollectionNotFoundApiError);
  });

  it('rejects bad input with 4xx errors and writes nothing', async () => {
    const collection = name('bad');
    const store = await corpusStore(collection);
    const count = async () => (await client.getCollection(collection)).document_count;

    const badSearch = store.similaritySearch(SPORTS_QUERY, 3, { topic: { $regex: 'sp.*' } });
    await expect(badSearch).rejects.toBeInstanceOf(InvalidInputApiError);
    await expect(store.similaritySearch(SPORTS_QUERY, 3, { topic: { $regex: 'sp.*' } })).rejects.toMatchObject({ status: 400 });

    // A filter the server refuses deletes nothing.
    await expect(store.delete({ filter: { group: { $like: 'a' } } })).rejects.toBeInstanceOf(InvalidInputApiError);
    expect(await count()).toBe(CORPUS.length);

    // One empty text fails its whole (atomic) request.
    await expect(
      store.addDocuments([new Document({ pageContent: 'A new text about gardening and tomato plants.' }), new Document({ pageContent: '   ' })], { ids: ['garden', 'blank'] }),
    ).rejects.toSatisfy((err) => err instanceof EmptyTextApiError || err instanceof InvalidInputApiError);
    await expect(client.getDocument(collection, 'garden')).rejects.toMatchObject({ status: 404 });

    // A vector of the wrong size is refused.
    await expect(store.addVectors([[0.1, 0.2, 0.3]], [new Document({ pageContent: 'three dimensions' })], { ids: ['short'] })).rejects.toBeInstanceOf(InvalidVectorApiError);

    // Metadata JSON cannot hold is refused before anything is sent.
    await expect(store.addDocuments([new Document({ pageContent: 'big numbers', metadata: { big: 10n } })], { ids: ['big'] })).rejects.toThrow(TypeError);
    expect(await count()).toBe(CORPUS.length);
  });
});
