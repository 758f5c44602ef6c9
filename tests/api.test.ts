/**
 * Functional suite of the HTTP API, run once per vector backend (local HNSW and Pinecone through
 * the fake Pinecone server). Expectations are computed in the test from the synthetic corpus
 * below, independently of the server's filter evaluator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakePinecone, type FakePinecone } from './fakes/pinecone-server.ts';
import { api, startTestServer, tempDir } from './helpers/server.ts';
import type { RunningServer } from '../src/api/server.ts';
import { DEFAULT_PINECONE_MAX_RETRIES } from '../src/index/pinecone/options.ts';

interface Meta {
  year: number;
  category: 'space' | 'food' | 'sports' | 'tech';
  tags: string[];
  rating: number;
  featured: boolean;
}

interface Doc {
  id: string;
  text: string;
  metadata: Meta;
}

interface Hit {
  id: string;
  score: number;
  metadata: Record<string, unknown>;
  text?: string;
  title?: string | null;
  explain?: { dense: { rank: number; score: number } | null; keyword: { rank: number; score: number } | null; alpha?: number };
}

interface SearchBody {
  results: Hit[];
  model: string;
  generation: number;
  took_ms: number;
}

interface CollectionBody {
  name: string;
  document_count: number;
  model: string;
  model_target: string;
  dimensions: number;
  backend: string;
  generation: number;
  hnsw: { M: number; efConstruction: number; efSearch: number };
  hybrid_alpha: number;
}

const TEXTS: Record<Meta['category'], string[]> = {
  space: [
    'The telescope revealed distant galaxies and glowing nebulae in the night sky.',
    'Astronomers discovered a new exoplanet orbiting a small red dwarf star.',
    'The rocket launched the satellite into a stable orbit around the Earth.',
    'Saturn has beautiful rings made of ice and rock that circle the planet.',
    'Astronauts aboard the space station repaired a solar panel during a long spacewalk.',
    'A solar eclipse happens when the Moon passes between the Sun and the Earth, darkening the sky for minutes.',
    'Black holes bend light and swallow stars that wander too close.',
    'The Mars rover drilled into red rocks, searching the ancient crater for signs of past water and life.',
    'A comet with a bright tail passed near the Sun this spring.',
    'Radio telescopes listen to signals from pulsars, quasars and the cosmic background left over from the big bang.',
  ],
  food: [
    'This pasta recipe uses fresh tomatoes, garlic, basil and olive oil.',
    'Bake the bread dough in a hot oven until the crust turns golden brown.',
    'A good soup starts with onions, carrots and celery simmered slowly in butter.',
    'The chef seasoned the grilled steak with salt, pepper and rosemary.',
    'Whisk eggs, sugar and flour together to make a light sponge cake for dessert.',
    'Chop the vegetables finely and stir fry them quickly in a very hot wok with soy sauce and ginger.',
    'Our grandmother taught us her recipe for apple pie with a flaky buttery crust.',
    'Roast the chicken with lemon, thyme and potatoes for a simple Sunday dinner.',
    'Fresh sushi needs perfectly cooked rice seasoned with vinegar.',
    'Melt dark chocolate gently over a pan of simmering water, then fold it into whipped cream for a rich mousse.',
  ],
  sports: [
    'The striker scored a late goal and the football team won the cup final.',
    'The goalkeeper saved a penalty kick in the last minute of the match.',
    'Fans filled the stadium to cheer for their soccer club in the derby.',
    'The coach changed tactics at halftime and the team came back to win the league game.',
    'The midfielder passed the ball forward and the winger crossed it into the box.',
    'After the referee blew the final whistle, the players celebrated the championship title with their supporters.',
    'The football club signed a young defender for a record transfer fee.',
    'Both teams played hard, but the match ended in a goalless draw.',
    'The national team qualified for the World Cup after a dramatic win away from home.',
    'Training sessions focus on passing drills, sprint fitness and defending set pieces before every league match.',
  ],
  tech: [
    'The programmer fixed a bug in the JavaScript function that parsed the input.',
    'Compile the source code and run the unit tests before you merge the branch.',
    'The database query was slow until we added an index on the user table.',
    'Python is a popular programming language for scripting and data analysis.',
    'The software engineer refactored the class to remove duplicated code.',
    'Our web server handles thousands of HTTP requests per second using an asynchronous event loop written in Rust.',
    'Version control with git lets developers review each commit and roll back mistakes.',
    'The compiler reported a type error because the variable was declared as a string.',
    'Deploy the application in a container and monitor its memory usage in production.',
    'Writing clean code with small functions, clear names and thorough automated tests makes a program easier to maintain.',
  ],
};

const TAGS = ['beginner', 'advanced', 'history', 'news'];

function buildCorpus(): Doc[] {
  const docs: Doc[] = [];
  const categories = Object.keys(TEXTS) as Meta['category'][];
  categories.forEach((category, c) => {
    TEXTS[category].forEach((text, i) => {
      const n = c * 10 + i;
      const tags = TAGS.filter((_, t) => (n + t) % 3 === 0);
      docs.push({
        id: `${category}-${i}`,
        text,
        metadata: { year: 2015 + ((i * 3 + c) % 10), category, tags, rating: (n * 7) % 5, featured: n % 4 === 0 },
      });
    });
  });
  return docs;
}

const CORPUS = buildCorpus();
const byId = new Map(CORPUS.map((d) => [d.id, d]));

function idsWhere(pred: (m: Meta) => boolean, docs: readonly Doc[] = CORPUS): string[] {
  return docs
    .filter((d) => pred(d.metadata))
    .map((d) => d.id)
    .sort();
}

/** Every operator and combinator, with its meaning written out independently of the server. */
const FILTER_CASES: { name: string; filter: Record<string, unknown>; expect: (m: Meta) => boolean }[] = [
  { name: 'equality (string)', filter: { category: 'space' }, expect: (m) => m.category === 'space' },
  { name: 'equality (number)', filter: { year: 2020 }, expect: (m) => m.year === 2020 },
  { name: 'equality (boolean)', filter: { featured: true }, expect: (m) => m.featured },
  { name: 'equality on a list field (any element)', filter: { tags: 'history' }, expect: (m) => m.tags.includes('history') },
  { name: '$eq', filter: { category: { $eq: 'food' } }, expect: (m) => m.category === 'food' },
  { name: '$eq number', filter: { rating: { $eq: 3 } }, expect: (m) => m.rating === 3 },
  { name: '$ne', filter: { category: { $ne: 'food' } }, expect: (m) => m.category !== 'food' },
  { name: '$ne boolean', filter: { featured: { $ne: true } }, expect: (m) => !m.featured },
  { name: '$ne on a list field (no element)', filter: { tags: { $ne: 'beginner' } }, expect: (m) => !m.tags.includes('beginner') },
  { name: '$in', filter: { category: { $in: ['space', 'tech'] } }, expect: (m) => m.category === 'space' || m.category === 'tech' },
  { name: '$in numbers', filter: { year: { $in: [2016, 2019, 2023] } }, expect: (m) => [2016, 2019, 2023].includes(m.year) },
  { name: '$in on a list field', filter: { tags: { $in: ['news', 'advanced'] } }, expect: (m) => m.tags.includes('news') || m.tags.includes('advanced') },
  { name: '$in with a boolean', filter: { featured: { $in: [true] } }, expect: (m) => m.featured },
  { name: '$in mixing booleans and strings', filter: { category: { $in: ['food', false] } }, expect: (m) => m.category === 'food' },
  { name: '$nin with a boolean', filter: { featured: { $nin: [false] }, category: { $nin: ['space'] } }, expect: (m) => m.featured && m.category !== 'space' },
  { name: '$in empty', filter: { category: { $in: [] } }, expect: () => false },
  { name: '$nin', filter: { year: { $nin: [2015, 2016, 2017] } }, expect: (m) => ![2015, 2016, 2017].includes(m.year) },
  { name: '$nin on a list field', filter: { tags: { $nin: ['history', 'news'] } }, expect: (m) => !m.tags.includes('history') && !m.tags.includes('news') },
  { name: '$gt', filter: { year: { $gt: 2021 } }, expect: (m) => m.year > 2021 },
  { name: '$gte', filter: { year: { $gte: 2021 } }, expect: (m) => m.year >= 2021 },
  { name: '$lt', filter: { rating: { $lt: 2 } }, expect: (m) => m.rating < 2 },
  { name: '$lte', filter: { rating: { $lte: 2 } }, expect: (m) => m.rating <= 2 },
  { name: 'range ($gte and $lt on one field)', filter: { year: { $gte: 2017, $lt: 2020 } }, expect: (m) => m.year >= 2017 && m.year < 2020 },
  { name: 'two fields (implicit and)', filter: { category: 'tech', featured: false }, expect: (m) => m.category === 'tech' && !m.featured },
  {
    name: '$and',
    filter: { $and: [{ category: 'sports' }, { year: { $gt: 2019 } }] },
    expect: (m) => m.category === 'sports' && m.year > 2019,
  },
  { name: '$or', filter: { $or: [{ category: 'food' }, { featured: true }] }, expect: (m) => m.category === 'food' || m.featured },
  {
    name: '$or of $and',
    filter: { $or: [{ $and: [{ category: 'space' }, { rating: { $gte: 3 } }] }, { $and: [{ category: 'tech' }, { tags: 'beginner' }] }] },
    expect: (m) => (m.category === 'space' && m.rating >= 3) || (m.category === 'tech' && m.tags.includes('beginner')),
  },
  {
    name: '$and of $or',
    filter: { $and: [{ $or: [{ year: { $lt: 2018 } }, { year: { $gt: 2022 } }] }, { category: { $ne: 'sports' } }] },
    expect: (m) => (m.year < 2018 || m.year > 2022) && m.category !== 'sports',
  },
  { name: 'matches nothing', filter: { year: 1999 }, expect: () => false },
];

const ids = (hits: readonly Hit[]): string[] => hits.map((h) => h.id);

describe.each(['hnsw', 'pinecone'] as const)('HTTP API on the %s backend', (backend) => {
  let server: RunningServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fake: FakePinecone | undefined;
  let base: string;
  const CORPUS_COLLECTION = `corpus_${backend}`;

  const call = <T = unknown>(method: string, path: string, body?: unknown) => api<T>(base, method, path, body);
  const search = async (collection: string, body: Record<string, unknown>): Promise<Hit[]> => {
    const res = await call<SearchBody>('POST', `/v1/collections/${collection}/search`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.results;
  };
  const info = async (collection: string): Promise<CollectionBody> => {
    const res = await call<CollectionBody>('GET', `/v1/collections/${collection}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const create = async (name: string): Promise<CollectionBody> => {
    const res = await call<CollectionBody>('POST', '/v1/collections', { name, backend });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  const upsert = async (collection: string, documents: unknown[]) => {
    const res = await call<{ upserted: number; unchanged: number; count: number }>('POST', `/v1/collections/${collection}/documents`, { documents });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  /** Records the fake Pinecone holds for a collection's live generation (undefined on hnsw). */
  const remoteIds = async (collection: string): Promise<string[] | undefined> => {
    if (!fake) return undefined;
    const { generation } = await info(collection);
    return [...(fake.namespaces().get(`${collection}.g${generation}`)?.keys() ?? [])].sort();
  };

  beforeAll(async () => {
    dir = await tempDir(`sextant-api-${backend}-`);
    if (backend === 'pinecone') {
      fake = await startFakePinecone({ apiKey: 'pc-api-test', dimension: 512 });
      server = await startTestServer({ dataDir: dir.path, pineconeApiKey: fake.apiKey, pineconeIndexHost: fake.url });
    } else {
      server = await startTestServer({ dataDir: dir.path });
    }
    base = server.url;
    await create(CORPUS_COLLECTION);
    const res = await upsert(CORPUS_COLLECTION, CORPUS);
    expect(res).toEqual({ upserted: 40, unchanged: 0, count: 40 });
  });

  afterAll(async () => {
    await server?.close();
    await fake?.close();
    await dir?.remove();
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

      expect(await info('lifecycle')).toEqual(created);
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
      expect(await info(col)).toEqual(res.body);
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

  async function embed(input: string[]): Promise<number[][]> {
    const res = await call<{ object: string; data: { object: string; index: number; embedding: number[] }[]; model: string; usage: { prompt_tokens: number; total_tokens: number } }>(
      'POST',
      '/v1/embeddings',
      { input },
    );
    expect(res.status).toBe(200);
    return res.body.data.map((d) => d.embedding);
  }

  describe('embeddings and models', () => {
    it('embeds in the OpenAI shape', async () => {
      const res = await call<{ object: string; data: { object: string; index: number; embedding: number[] }[]; model: string; usage: { prompt_tokens: number; total_tokens: number } }>(
        'POST',
        '/v1/embeddings',
        { input: ['first text', 'a second, longer text to embed'] },
      );
      expect(res.status).toBe(200);
      expect(res.body.object).toBe('list');
      expect(res.body.model).toMatch(/^use-lite@/);
      expect(res.body.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
        ['embedding', 0, 512],
        ['embedding', 1, 512],
      ]);
      for (const d of res.body.data) expect(Math.hypot(...d.embedding)).toBeCloseTo(1, 4);
      expect(res.body.usage.prompt_tokens).toBeGreaterThan(4);
      expect(res.body.usage.total_tokens).toBe(res.body.usage.prompt_tokens);

      const single = await call<{ data: { embedding: number[] }[] }>('POST', '/v1/embeddings', { input: 'first text' });
      expect(single.body.data).toHaveLength(1);
      const same = single.body.data[0]!.embedding;
      res.body.data[0]!.embedding.forEach((v, i) => expect(v).toBeCloseTo(same[i]!, 5));
    });

    it('lists models', async () => {
      const res = await call<{ object: string; data: { id: string; object: string; dimensions: number; aliases: string[]; collections: string[] }[] }>('GET', '/v1/models');
      expect(res.status).toBe(200);
      expect(res.body.object).toBe('list');
      const model = res.body.data.find((m) => m.aliases.includes('default'));
      expect(model).toMatchObject({ object: 'model', dimensions: 512 });
      expect(model!.id).toBe((await info(CORPUS_COLLECTION)).model);
      expect(model!.collections).toContain(CORPUS_COLLECTION);
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
      dense.forEach((h, i) => expect(h.explain).toEqual({ dense: { rank: i + 1, score: h.score }, keyword: null }));

      const keyword = await search(CORPUS_COLLECTION, { mode: 'keyword', query, k: 5, explain: true });
      expect(keyword.length).toBe(5);
      keyword.forEach((h, i) => expect(h.explain).toEqual({ dense: null, keyword: { rank: i + 1, score: h.score } }));

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
        expect(h.explain!.dense).toEqual({ rank: dRank + 1, score: expect.closeTo(denseAll[dRank]!.score, 5) });
        expect(h.explain!.keyword).toEqual(kRank < 0 ? null : { rank: kRank + 1, score: expect.closeTo(keywordAll[kRank]!.score, 5) });
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
      const col = await info(CORPUS_COLLECTION);
      expect(res.body.model).toBe(col.model);
      expect(res.body.generation).toBe(col.generation);
      // The server's own time for this search (query embedding included): a positive, finite
      // figure within the round trip of the same request, measured on the same clock (the server
      // runs in this process; took_ms is rounded to 0.01 ms).
      expect(Number.isFinite(res.body.took_ms)).toBe(true);
      expect(res.body.took_ms).toBeGreaterThan(0);
      expect(res.body.took_ms).toBeLessThanOrEqual(roundTrip + 0.005);
    });
  });
});
