// Unit: the Pinecone index backend (src/index/pinecone/index.ts, its records, errors and options).
/**
 * The pinecone backend through the real SDK against a local server speaking Pinecone's REST
 * protocol (tests/fakes/pinecone-server.ts): results are compared to brute-force cosine, and the
 * recorded requests are checked against the wire format Pinecone documents.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/config.ts';
import {
  BackendAuthError,
  BackendNotFoundError,
  BackendUnavailableError,
  ConfigError,
  InvalidInputError,
  InvalidVectorError,
} from '../../../../src/errors.ts';
import { matchesFilter } from '../../../../src/values/filter.ts';
import type { Filter, Metadata } from '../../../../src/values/filter.ts';
import { toPineconeFilter } from '../../../../src/index/pinecone/filter.ts';
import { PineconeIndex } from '../../../../src/index/pinecone/index.ts';
import { DEFAULT_PINECONE_MAX_RETRIES, DEFAULT_PINECONE_TIMEOUT_MS, pineconeOptionsFromConfig } from '../../../../src/index/pinecone/options.ts';
import type { PineconeIndexOptions } from '../../../../src/index/pinecone/options.ts';
import { toPineconeMetadata, upsertBatches } from '../../../../src/index/pinecone/records.ts';
import type { IndexedVector } from '../../../../src/index/types.ts';
import { startFakePinecone } from '../../../fakes/pinecone-server.ts';
import type { FakePinecone, RecordedRequest } from '../../../fakes/pinecone-server.ts';
import { cosine } from '../../../helpers/vectors.ts';
import { mulberry32 as rng } from '../../../../src/util/random.ts';

const DIM = 8;

function unitVectors(n: number, dim: number, seed: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const v = Float32Array.from({ length: dim }, () => r() * 2 - 1);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

const GENRES = ['drama', 'comedy', 'documentary', 'horror'];
const TAGS = ['red', 'green', 'blue'];

function corpus(n: number, seed: number, dim = DIM): IndexedVector[] {
  const r = rng(seed + 1);
  return unitVectors(n, dim, seed).map((vector, i) => ({
    id: `doc-${i}`,
    vector,
    metadata: {
      genre: GENRES[i % GENRES.length]!,
      year: 1980 + Math.floor(r() * 45),
      draft: i % 3 === 0,
      tags: TAGS.filter(() => r() < 0.4),
    },
  }));
}

/** Exact top-k by cosine among the items the filter admits: what Pinecone's answer must equal. */
function bruteForce(items: readonly IndexedVector[], query: Float32Array, k: number, filter?: Filter) {
  return items
    .filter((it) => filter === undefined || matchesFilter(filter, it.metadata))
    .map((it) => ({ id: it.id, score: cosine(query, it.vector) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, k);
}

function expectSameHits(actual: { id: string; score: number }[], expected: { id: string; score: number }[]) {
  expect(actual.map((h) => h.id)).toEqual(expected.map((h) => h.id));
  actual.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.score, 9));
}

let fake: FakePinecone;

function open(over: Partial<PineconeIndexOptions> = {}): Promise<PineconeIndex> {
  return PineconeIndex.open({
    apiKey: fake.apiKey,
    indexHost: fake.url,
    namespace: 'ns1',
    dimensions: DIM,
    maxRetries: 2,
    requestTimeoutMs: 5_000,
    ...over,
  });
}

function dataRequests(path?: string): RecordedRequest[] {
  return fake.requests.filter((r) => r.server === 'data' && (path === undefined || r.path === path));
}

beforeEach(async () => {
  fake = await startFakePinecone({ dimension: DIM, apiKey: 'pc-test-key' });
});

afterEach(async () => {
  await fake.close();
});

describe('PineconeIndex round trips', () => {
  it('opens against the host, checking the index with describe_index_stats as the SDK sends it', async () => {
    const index = await open();
    expect(index.kind).toBe('pinecone');
    expect(index.remote).toBe(true);
    expect(index.dimensions).toBe(DIM);
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req).toMatchObject({ server: 'data', method: 'POST', path: '/describe_index_stats' });
    expect(req!.headers['api-key']).toBe('pc-test-key');
    expect(req!.headers['x-pinecone-api-version']).toBe('2026-04');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['user-agent']).toMatch(/^@pinecone-database\/pinecone v8\.\d+\.\d+; lang=typescript; node v\d+/);
    expect(req!.headers['user-agent']).toContain('source_tag=sextant');
    await index.close();
  });

  it('upserts with Pinecone\'s wire format and finds exactly the brute-force nearest neighbours', async () => {
    const index = await open();
    const items = corpus(300, 7);
    await index.upsert(items);

    const upserts = dataRequests('/vectors/upsert');
    expect(upserts.map((r) => (r.body as { vectors: unknown[] }).vectors.length)).toEqual([100, 100, 100]);
    const first = upserts[0]!;
    expect(first.method).toBe('POST');
    expect(first.headers['api-key']).toBe('pc-test-key');
    const body = first.body as { namespace: string; vectors: { id: string; values: number[]; metadata: Metadata }[] };
    expect(Object.keys(body).sort()).toEqual(['namespace', 'vectors']);
    expect(body.namespace).toBe('ns1');
    expect(Object.keys(body.vectors[0]!).sort()).toEqual(['id', 'metadata', 'values']);
    expect(body.vectors[0]!.id).toBe('doc-0');
    expect(body.vectors[0]!.values).toEqual(Array.from(items[0]!.vector));
    expect(body.vectors[0]!.metadata).toEqual(items[0]!.metadata);

    expect(await index.count()).toBe(300);
    for (const [qi, query] of unitVectors(5, DIM, 99).entries()) {
      const hits = await index.search({ vector: query, k: 10, ef: 50 });
      expect(hits).toHaveLength(10);
      expectSameHits(hits, bruteForce(items, query, 10));
      if (qi === 0) {
        const q = dataRequests('/query').at(-1)!;
        expect(q.method).toBe('POST');
        expect(q.body).toEqual({ namespace: 'ns1', topK: 10, includeValues: false, includeMetadata: false, vector: Array.from(query) });
      }
    }
    // k larger than the namespace returns everything, in order.
    const all = await index.search({ vector: items[5]!.vector, k: 1000 });
    expect(all).toHaveLength(300);
    expect(all[0]!.id).toBe('doc-5');
    expect(all[0]!.score).toBeCloseTo(1, 6);
  });

  it('updates a record by upserting its id again', async () => {
    const index = await open();
    const items = corpus(20, 3);
    await index.upsert(items);
    const replacement = unitVectors(1, DIM, 1234)[0]!;
    await index.upsert([{ id: 'doc-4', vector: replacement, metadata: { genre: 'western', year: 2024 } }]);
    expect(await index.count()).toBe(20);

    const hits = await index.search({ vector: replacement, k: 1 });
    expect(hits[0]!.id).toBe('doc-4');
    expect(hits[0]!.score).toBeCloseTo(1, 6);
    const fetched = await index.fetch(['doc-4', 'missing']);
    expect([...fetched.keys()]).toEqual(['doc-4']);
    expect(Array.from(fetched.get('doc-4')!.vector)).toEqual(Array.from(replacement));
    expect(fetched.get('doc-4')!.metadata).toEqual({ genre: 'western', year: 2024 });
    const fetchReq = dataRequests('/vectors/fetch').at(-1)!;
    expect(fetchReq.method).toBe('GET');
    expect(fetchReq.query).toEqual({ ids: ['doc-4', 'missing'], namespace: ['ns1'] });

    const updated = items.map((it) => (it.id === 'doc-4' ? { id: 'doc-4', vector: replacement } : it));
    const q = unitVectors(1, DIM, 5)[0]!;
    expectSameHits(await index.search({ vector: q, k: 20 }), bruteForce(updated, q, 20));
    const lastBody = dataRequests('/vectors/upsert').at(-1)!.body as { vectors: unknown[] };
    expect(lastBody.vectors).toHaveLength(1);
  });

  it('keeps the last of duplicate ids within one call', async () => {
    const index = await open();
    const [a, b] = unitVectors(2, DIM, 8);
    await index.upsert([
      { id: 'x', vector: a! },
      { id: 'x', vector: b! },
    ]);
    expect(await index.count()).toBe(1);
    expect(Array.from((await index.fetch(['x'])).get('x')!.vector)).toEqual(Array.from(b!));
  });

  it('deletes by id in batches of at most 1000, ignoring unknown ids', async () => {
    const index = await open();
    const items = corpus(50, 11);
    await index.upsert(items);
    await index.delete(['doc-1', 'doc-2', 'doc-2', 'nope']);
    const del = dataRequests('/vectors/delete').at(-1)!;
    expect(del.method).toBe('POST');
    expect(del.body).toEqual({ ids: ['doc-1', 'doc-2', 'nope'], namespace: 'ns1' });
    expect(await index.count()).toBe(48);
    const rest = items.filter((it) => !['doc-1', 'doc-2'].includes(it.id));
    const q = items[1]!.vector;
    expectSameHits(await index.search({ vector: q, k: 5 }), bruteForce(rest, q, 5));

    const before = dataRequests('/vectors/delete').length;
    await index.delete(Array.from({ length: 2500 }, (_, i) => `doc-${i}`));
    const batches = dataRequests('/vectors/delete').slice(before);
    expect(batches.map((r) => (r.body as { ids: string[] }).ids.length)).toEqual([1000, 1000, 500]);
    expect(await index.count()).toBe(0);
    // The namespace is gone now (serverless answers 404 to deletes there): still not an error.
    await index.delete(['doc-1']);
    await index.delete([]);
  });

  it('drops the namespace with deleteAll and tolerates dropping an empty one', async () => {
    const index = await open();
    await index.upsert(corpus(30, 2));
    expect(await index.count()).toBe(30);
    await index.drop();
    expect(dataRequests('/vectors/delete').at(-1)!.body).toEqual({ deleteAll: true, namespace: 'ns1' });
    expect(await index.count()).toBe(0);
    expect(fake.namespaces().has('ns1')).toBe(false);
    await index.drop();
    expect(await index.search({ vector: unitVectors(1, DIM, 1)[0]!, k: 5 })).toEqual([]);
    await index.flush();
  });

  it('splits upserts to stay under Pinecone\'s 2 MB request limit', async () => {
    await fake.close();
    fake = await startFakePinecone({ dimension: 2048, apiKey: 'pc-test-key' });
    const index = await open({ dimensions: 2048 });
    const items = unitVectors(100, 2048, 5).map((vector, i) => ({ id: `big-${i}`, vector }));
    await index.upsert(items);
    const upserts = dataRequests('/vectors/upsert');
    expect(upserts.length).toBeGreaterThan(1);
    expect(upserts.reduce((n, r) => n + (r.body as { vectors: unknown[] }).vectors.length, 0)).toBe(100);
    for (const r of upserts) expect(Buffer.byteLength(JSON.stringify(r.body))).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(await index.count()).toBe(100);
  });

  it('isolates namespaces of one index', async () => {
    const a = await open({ namespace: 'alpha' });
    const b = await open({ namespace: 'beta' });
    const itemsA = corpus(40, 21);
    const itemsB = corpus(25, 22);
    await a.upsert(itemsA);
    await b.upsert(itemsB);
    expect(await a.count()).toBe(40);
    expect(await b.count()).toBe(25);
    const q = unitVectors(1, DIM, 77)[0]!;
    expectSameHits(await a.search({ vector: q, k: 40 }), bruteForce(itemsA, q, 40));
    expectSameHits(await b.search({ vector: q, k: 40 }), bruteForce(itemsB, q, 40));
    await a.drop();
    expect(await a.count()).toBe(0);
    expect(await b.count()).toBe(25);
    expect([...fake.namespaces().keys()]).toEqual(['beta']);
  });
});

describe('filters', () => {
  const items = corpus(200, 42);
  const cases: [string, Filter][] = [
    ['equality shorthand', { genre: 'drama' }],
    ['$ne', { genre: { $ne: 'drama' } }],
    ['$gt', { year: { $gt: 2000 } }],
    ['range in one condition', { year: { $gte: 1990, $lt: 2010 } }],
    ['$lte', { year: { $lte: 1985 } }],
    ['$in', { genre: { $in: ['comedy', 'horror'] } }],
    ['$nin', { genre: { $nin: ['comedy', 'horror'] } }],
    ['list field equality', { tags: 'red' }],
    ['list field $in', { tags: { $in: ['green', 'blue'] } }],
    ['list field $nin', { tags: { $nin: ['red'] } }],
    ['boolean', { draft: true }],
    ['boolean $in', { draft: { $in: [true] } }],
    ['mixed $in', { genre: { $in: ['drama', true] } }],
    ['boolean $nin', { draft: { $nin: [true] } }],
    ['implicit and', { genre: 'drama', year: { $lt: 2000 } }],
    ['$and', { $and: [{ genre: { $in: ['drama', 'comedy'] } }, { year: { $gte: 2000 } }, { draft: false }] }],
    ['$or', { $or: [{ genre: 'horror' }, { year: { $lt: 1985 } }] }],
    ['nested', { $or: [{ $and: [{ genre: 'drama' }, { tags: 'blue' }] }, { year: { $gt: 2020 } }] }],
  ];

  it.each(cases)('%s matches brute force', async (_name, filter) => {
    const index = await open();
    await index.upsert(items);
    const q = unitVectors(1, DIM, 4242)[0]!;
    const expected = bruteForce(items, q, 200, filter);
    expect(expected.length).toBeGreaterThan(0);
    expectSameHits(await index.search({ vector: q, k: 200, filter }), expected);
    const sent = (dataRequests('/query').at(-1)!.body as { filter: unknown }).filter;
    expect(sent).toEqual(toPineconeFilter(filter));
  });

  it('sends explicit Pinecone syntax', async () => {
    const index = await open();
    await index.upsert(items);
    await index.search({ vector: items[0]!.vector, k: 3, filter: { genre: 'drama', year: { $gt: 2000 } } });
    expect((dataRequests('/query').at(-1)!.body as { filter: unknown }).filter).toEqual({
      $and: [{ genre: { $eq: 'drama' } }, { year: { $gt: 2000 } }],
    });
  });

  it('answers an unsatisfiable filter without a request', async () => {
    const index = await open();
    await index.upsert(items);
    const n = fake.requests.length;
    expect(await index.search({ vector: items[0]!.vector, k: 5, filter: { genre: { $in: [] } } })).toEqual([]);
    expect(fake.requests).toHaveLength(n);
  });

  it('rejects string bounds for $gt/$lt, which Pinecone cannot compare, before any request', async () => {
    const index = await open();
    const n = fake.requests.length;
    await expect(index.search({ vector: items[0]!.vector, k: 5, filter: { genre: { $gt: 'c' } } })).rejects.toThrow(InvalidInputError);
    await expect(index.search({ vector: items[0]!.vector, k: 5, filter: { $or: [{ year: 1 }, { date: { $lte: '2020-01-01' } }] } })).rejects.toThrow(
      /filter\.\$or\[1\]\.date\.\$lte: Pinecone compares only numbers/,
    );
    expect(fake.requests).toHaveLength(n);
  });
});

describe('validation before any request', () => {
  it('rejects wrong dimensions and non-finite values with InvalidVectorError', async () => {
    const index = await open();
    const n = fake.requests.length;
    const good = corpus(3, 1);
    await expect(index.upsert([...good, { id: 'short', vector: new Float32Array(DIM - 1) }])).rejects.toThrow(InvalidVectorError);
    const nan = new Float32Array(DIM).fill(0.1);
    nan[3] = Number.NaN;
    await expect(index.upsert([...good, { id: 'nan', vector: nan }])).rejects.toThrow(/items\[3\]\.vector\[3\] is NaN/);
    const inf = new Float32Array(DIM).fill(0.1);
    inf[0] = Number.POSITIVE_INFINITY;
    await expect(index.upsert([{ id: 'inf', vector: inf }])).rejects.toThrow(InvalidVectorError);
    await expect(index.search({ vector: new Float32Array(DIM + 1), k: 3 })).rejects.toThrow(InvalidVectorError);
    await expect(index.search({ vector: nan, k: 3 })).rejects.toThrow(InvalidVectorError);
    expect(fake.requests).toHaveLength(n);
  });

  it('rejects metadata Pinecone cannot store, naming the key', async () => {
    const index = await open();
    const n = fake.requests.length;
    const vector = unitVectors(1, DIM, 1)[0]!;
    await expect(index.upsert([{ id: 'a', vector, metadata: { author: { name: 'x' } } }])).rejects.toThrow(/items\[0\]\.metadata\.author: nested objects/);
    await expect(index.upsert([{ id: 'a', vector, metadata: { nums: [1, 2] } }])).rejects.toThrow(/metadata\.nums: Pinecone lists may hold only strings/);
    await expect(index.upsert([{ id: 'a', vector, metadata: { $bad: 1 } }])).rejects.toThrow(InvalidInputError);
    await expect(index.upsert([{ id: 'a', vector, metadata: { big: 'x'.repeat(41_000) } }])).rejects.toThrow(/40960/);
    await expect(index.upsert([{ id: '', vector }])).rejects.toThrow(InvalidInputError);
    await expect(index.search({ vector, k: 10_001 })).rejects.toThrow(InvalidInputError);
    await expect(index.search({ vector, k: 1.5 })).rejects.toThrow(InvalidInputError);
    expect(await index.search({ vector, k: 0 })).toEqual([]);
    expect(fake.requests).toHaveLength(n);
  });

  it('drops null metadata values and keeps allowed types', async () => {
    expect(toPineconeMetadata({ a: 'x', b: 2, c: false, d: ['p', 'q'], e: null, f: undefined })).toEqual({ a: 'x', b: 2, c: false, d: ['p', 'q'] });
    expect(toPineconeMetadata({ e: null })).toBeUndefined();
    const index = await open();
    await index.upsert([{ id: 'a', vector: unitVectors(1, DIM, 1)[0]!, metadata: { keep: 1, gone: null } }]);
    expect((dataRequests('/vectors/upsert').at(-1)!.body as { vectors: { metadata: unknown }[] }).vectors[0]!.metadata).toEqual({ keep: 1 });
  });

  it('batches by count and bytes', () => {
    const recs = Array.from({ length: 7 }, (_, i) => ({ id: `r${i}`, pad: 'x'.repeat(100) }));
    expect(upsertBatches(recs, 3).map((b) => b.length)).toEqual([3, 3, 1]);
    expect(upsertBatches(recs, 100, 300).map((b) => b.length)).toEqual([2, 2, 2, 1]);
    expect(upsertBatches([])).toEqual([]);
  });
});

describe('control plane', () => {
  it('resolves the index host by name through describe_index', async () => {
    const index = await open({ indexHost: undefined, indexName: fake.indexName, controllerHost: fake.controllerUrl });
    expect(index.host).toBe(fake.url);
    expect(index.indexName).toBe(fake.indexName);
    const [describe, stats] = fake.requests;
    expect(describe).toMatchObject({ server: 'control', method: 'GET', path: `/indexes/${fake.indexName}` });
    expect(describe!.headers['api-key']).toBe('pc-test-key');
    expect(describe!.headers['x-pinecone-api-version']).toBe('2026-04');
    expect(stats).toMatchObject({ server: 'data', path: '/describe_index_stats' });
    const items = corpus(10, 9);
    await index.upsert(items);
    expectSameHits(await index.search({ vector: items[3]!.vector, k: 3 }), bruteForce(items, items[3]!.vector, 3));
  });

  it('maps an unknown index name to BackendNotFoundError', async () => {
    await expect(open({ indexHost: undefined, indexName: 'nope', controllerHost: fake.controllerUrl })).rejects.toThrow(BackendNotFoundError);
    await expect(open({ indexHost: undefined, indexName: 'nope', controllerHost: fake.controllerUrl })).rejects.toThrow(/Resource nope not found/);
  });

  it('refuses an index whose dimension or metric does not fit', async () => {
    await expect(open({ indexHost: undefined, indexName: fake.indexName, controllerHost: fake.controllerUrl, dimensions: 16 })).rejects.toThrow(ConfigError);
    await expect(open({ dimensions: 16 })).rejects.toThrow(/dimension 8; this collection's model produces 16/);
    await fake.close();
    fake = await startFakePinecone({ dimension: DIM, apiKey: 'pc-test-key', metric: 'euclidean' });
    await expect(open({ indexHost: undefined, indexName: fake.indexName, controllerHost: fake.controllerUrl })).rejects.toThrow(/metric 'euclidean'/);
    // Without verification the host is not contacted on open.
    const before = fake.requests.length;
    await open({ verify: false, dimensions: 16 });
    expect(fake.requests).toHaveLength(before);
  });
});

describe('errors', () => {
  it('maps a rejected API key to BackendAuthError on both planes', async () => {
    await expect(open({ apiKey: 'wrong' })).rejects.toThrow(BackendAuthError);
    await expect(open({ apiKey: 'wrong' })).rejects.toThrow(/HTTP 401.*describe index stats.*Invalid API Key/);
    await expect(open({ apiKey: 'wrong', indexHost: undefined, indexName: fake.indexName, controllerHost: fake.controllerUrl })).rejects.toThrow(BackendAuthError);
    const index = await open({ apiKey: 'wrong', verify: false });
    await expect(index.search({ vector: unitVectors(1, DIM, 1)[0]!, k: 1 })).rejects.toThrow(BackendAuthError);
    await expect(index.upsert(corpus(2, 1))).rejects.toThrow(BackendAuthError);
    // 401 is not retried.
    expect(dataRequests('/query')).toHaveLength(1);
  });

  it('maps 403 (which the SDK reports as a bad request) to BackendAuthError', async () => {
    const index = await open();
    fake.failNext(403);
    await expect(index.count()).rejects.toThrow(BackendAuthError);
  });

  it('maps 404 to BackendNotFoundError, 400 to InvalidInputError and 429 to BackendUnavailableError', async () => {
    const index = await open();
    fake.failNext(404);
    await expect(index.search({ vector: unitVectors(1, DIM, 1)[0]!, k: 1 })).rejects.toThrow(BackendNotFoundError);
    fake.failNext(400);
    await expect(index.upsert(corpus(1, 1))).rejects.toThrow(InvalidInputError);
    fake.failNext(429);
    await expect(index.count()).rejects.toThrow(/rate limited \(HTTP 429\)/);
    fake.failNext(429);
    await expect(index.count()).rejects.toThrow(BackendUnavailableError);
    // 4xx answers are not retried by the SDK.
    expect(dataRequests('/describe_index_stats')).toHaveLength(3);
  });

  it('absorbs a single transient 503 through the SDK retry', async () => {
    const index = await open();
    await index.upsert(corpus(5, 1));
    fake.failNext(503);
    const hits = await index.search({ vector: unitVectors(1, DIM, 1)[0]!, k: 2 });
    expect(hits).toHaveLength(2);
    expect(dataRequests('/query')).toHaveLength(2);
  });

  it.each([500, 503, 502])('ends a persistent %i as BackendUnavailableError after bounded retries', async (status) => {
    const index = await open({ maxRetries: 2 });
    fake.failNext(status, 50);
    const err = await index.search({ vector: unitVectors(1, DIM, 1)[0]!, k: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toContain(`HTTP ${status} after 3 attempts`);
    expect((err as Error).message).toContain(fake.url);
    expect(dataRequests('/query')).toHaveLength(3);
    // The retries ended with the call: a later call is the next thing Pinecone sees.
    await expect(index.count()).rejects.toThrow(BackendUnavailableError);
    expect(dataRequests('/query')).toHaveLength(3);
  });

  it('fails without retries when maxRetries is 0', async () => {
    const index = await open({ maxRetries: 0 });
    fake.failNext(500, 5);
    await expect(index.count()).rejects.toThrow(BackendUnavailableError);
    expect(dataRequests('/describe_index_stats')).toHaveLength(2);
  });

  it('maps a refused connection to BackendUnavailableError', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const host = `http://127.0.0.1:${port}`;
    const err = await open({ indexHost: host }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    await expect(open({ indexHost: undefined, indexName: 'x', controllerHost: host })).rejects.toThrow(BackendUnavailableError);
  });

  it('bounds a request that never answers with requestTimeoutMs', async () => {
    const index = await open({ requestTimeoutMs: 300 });
    fake.stallNext(1);
    await expect(index.search({ vector: unitVectors(1, DIM, 1)[0]!, k: 2 })).rejects.toThrow(/timed out after 300 ms/);
    // The fake never answers a stalled request, so only the client's own deadline ended the call.
    expect(dataRequests('/query')).toHaveLength(1);
    // The next call goes through.
    expect(await index.count()).toBe(0);
  });

  it('refuses use after close', async () => {
    const index = await open();
    await index.close();
    await expect(index.count()).rejects.toThrow(/closed/);
  });
});

describe('pineconeOptionsFromConfig', () => {
  const fromEnv = (env: Record<string, string>) => loadConfig({}, env);

  it('reads host or index name and the timeout from the configuration, and rejects what is missing', () => {
    expect(pineconeOptionsFromConfig(fromEnv({ PINECONE_API_KEY: 'k', PINECONE_INDEX_HOST: 'http://127.0.0.1:5081' }), 'c1', 384)).toEqual({
      apiKey: 'k',
      indexHost: 'http://127.0.0.1:5081',
      namespace: 'c1',
      dimensions: 384,
      requestTimeoutMs: DEFAULT_PINECONE_TIMEOUT_MS,
    });
    expect(DEFAULT_PINECONE_TIMEOUT_MS).toBe(10_000);
    expect(
      pineconeOptionsFromConfig(
        fromEnv({ PINECONE_API_KEY: 'k', PINECONE_INDEX: 'idx', PINECONE_CONTROLLER_HOST: 'http://localhost:5080', PINECONE_TIMEOUT_MS: '2500' }),
        'c1',
        384,
      ),
    ).toEqual({ apiKey: 'k', indexName: 'idx', controllerHost: 'http://localhost:5080', requestTimeoutMs: 2500, namespace: 'c1', dimensions: 384 });
    expect(() => pineconeOptionsFromConfig(fromEnv({ PINECONE_INDEX: 'idx' }), 'c1', 384)).toThrow(/PINECONE_API_KEY/);
    expect(() => pineconeOptionsFromConfig(fromEnv({ PINECONE_API_KEY: 'k' }), 'c1', 384)).toThrow(ConfigError);
    expect(() => pineconeOptionsFromConfig(fromEnv({ PINECONE_API_KEY: 'k' }), 'c1', 384)).toThrow(/PINECONE_INDEX_HOST .* or PINECONE_INDEX/);
    expect(() => pineconeOptionsFromConfig(fromEnv({ PINECONE_API_KEY: 'k', PINECONE_INDEX_HOST: 'http://[bad' }), 'c1', 384)).toThrow(ConfigError);
    for (const bad of ['soon', '0', '-5', '1.5']) {
      expect(() => fromEnv({ PINECONE_API_KEY: 'k', PINECONE_INDEX: 'i', PINECONE_TIMEOUT_MS: bad })).toThrow(/PINECONE_TIMEOUT_MS/);
    }
  });

  it('opens from the configuration against the fake', async () => {
    const config = fromEnv({ PINECONE_API_KEY: fake.apiKey, PINECONE_INDEX_HOST: `${fake.url}/` });
    const index = await PineconeIndex.open(pineconeOptionsFromConfig(config, 'envns', DIM));
    await index.upsert(corpus(3, 1));
    expect(await index.count()).toBe(3);
    expect(fake.namespaces().get('envns')?.size).toBe(3);
  });
});

describe('PINECONE_TIMEOUT_MS', () => {
  it('ends a call at its deadline even while the SDK would still be retrying 5xx answers', async () => {
    const index = await open({ requestTimeoutMs: 250, maxRetries: DEFAULT_PINECONE_MAX_RETRIES });
    // Each attempt gets a 503 150 ms in; the SDK would back off ~200 ms and retry, up to 4 attempts (~2 s in all).
    fake.delayAnswers(150);
    fake.failNext(503, DEFAULT_PINECONE_MAX_RETRIES + 1);
    const err = await index.search({ vector: unitVectors(1, DIM, 1)[0]!, k: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/Pinecone query at .* timed out after 250 ms/);
    // The retry the SDK starts after its backoff is past the deadline and never reaches Pinecone.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(dataRequests('/query')).toHaveLength(1);
  });
});
