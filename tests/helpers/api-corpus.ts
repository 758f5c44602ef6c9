/**
 * The synthetic 40-document corpus the route tests run on, once per vector backend (local HNSW,
 * and Pinecone through the fake protocol server), with the expectations computed here from the
 * corpus, independently of the server's filter evaluator; and a client bound to one app for it.
 *
 * The test file passes the function that opens the app (`startTestApp` from helpers/app.ts), so
 * the file itself names helpers/app.ts, which is how vitest.config.ts routes it to `models`.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { startFakePinecone, type FakePinecone } from '../fakes/pinecone-server.ts';
import type { TestApp } from './app.ts';
import { api, tempDir, type ApiTarget } from './server.ts';

export const BACKENDS = ['hnsw', 'pinecone'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface Meta {
  year: number;
  category: 'space' | 'food' | 'sports' | 'tech';
  tags: string[];
  rating: number;
  featured: boolean;
}

export interface Doc {
  id: string;
  text: string;
  metadata: Meta;
}

export interface Hit {
  id: string;
  score: number;
  metadata: Record<string, unknown>;
  text?: string;
  title?: string | null;
  explain?: { dense: { rank: number; score: number } | null; keyword: { rank: number; score: number } | null; alpha?: number };
}

export interface SearchBody {
  results: Hit[];
  model: string;
  generation: number;
  took_ms: number;
}

export interface CollectionBody {
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

export interface EmbeddingsBody {
  object: string;
  data: { object: string; index: number; embedding: number[] }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
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

export const CORPUS = buildCorpus();
export const byId = new Map(CORPUS.map((d) => [d.id, d]));

export function idsWhere(pred: (m: Meta) => boolean, docs: readonly Doc[] = CORPUS): string[] {
  return docs
    .filter((d) => pred(d.metadata))
    .map((d) => d.id)
    .sort();
}

/** Every operator and combinator, with its meaning written out independently of the server. */
export const FILTER_CASES: { name: string; filter: Record<string, unknown>; expect: (m: Meta) => boolean }[] = [
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

export const ids = (hits: readonly Hit[]): string[] => hits.map((h) => h.id);

/** The fake Pinecone for the pinecone backend (undefined on hnsw), and the app settings that point at it. */
export async function backendFixture(backend: Backend): Promise<{ fake: FakePinecone | undefined; overrides: Record<string, string> }> {
  if (backend === 'hnsw') return { fake: undefined, overrides: {} };
  const fake = await startFakePinecone({ apiKey: 'pc-api-test', dimension: 512 });
  return { fake, overrides: { pineconeApiKey: fake.apiKey, pineconeIndexHost: fake.url } };
}

export type CorpusClient = ReturnType<typeof corpusClient>;

/** Requests against one app on one backend; the helpers check the status of each step. */
export function corpusClient(target: ApiTarget, backend: Backend, fake: FakePinecone | undefined) {
  /** The collection holding the whole corpus (see `seed`). */
  const COLLECTION = `corpus_${backend}`;
  const call = <T = unknown>(method: string, path: string, body?: unknown) => api<T>(target, method, path, body);
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
  const embed = async (input: string[]): Promise<number[][]> => {
    const res = await call<EmbeddingsBody>('POST', '/v1/embeddings', { input });
    expect(res.status).toBe(200);
    return res.body.data.map((d) => d.embedding);
  };
  /** Creates COLLECTION and upserts the whole corpus into it. */
  const seed = async (): Promise<void> => {
    await create(COLLECTION);
    const res = await upsert(COLLECTION, CORPUS);
    expect(res).toEqual({ upserted: 40, unchanged: 0, count: 40 });
  };
  return { COLLECTION, backend, fake, call, search, info, create, upsert, remoteIds, embed, seed };
}

/**
 * Registers, in the current describe, hooks that open an app on `backend` (with the fake
 * Pinecone behind it for 'pinecone') in a fresh data directory, and, unless `seed` is false,
 * upsert the corpus into COLLECTION. The returned client is usable from the tests on.
 */
export function useCorpusApp(
  backend: Backend,
  open: (overrides: { dataDir: string } & Record<string, string>) => Promise<TestApp>,
  options: { seed?: boolean } = {},
): CorpusClient & { readonly app: TestApp } {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  let fake: FakePinecone | undefined;
  let app: TestApp | undefined;
  let client: CorpusClient | undefined;
  const ready = (): CorpusClient => {
    if (!client) throw new Error('the corpus app is not open (used outside a test?)');
    return client;
  };

  beforeAll(async () => {
    dir = await tempDir(`sextant-api-${backend}-`);
    const fixture = await backendFixture(backend);
    fake = fixture.fake;
    app = await open({ dataDir: dir.path, ...fixture.overrides });
    client = corpusClient(app, backend, fake);
    if (options.seed !== false) await client.seed();
  });

  afterAll(async () => {
    await app?.close();
    await fake?.close();
    await dir?.remove();
  });

  return {
    COLLECTION: `corpus_${backend}`,
    backend,
    get fake() {
      return fake;
    },
    get app() {
      if (!app) throw new Error('the corpus app is not open (used outside a test?)');
      return app;
    },
    call: <T = unknown>(method: string, path: string, body?: unknown) => ready().call<T>(method, path, body),
    search: (collection, body) => ready().search(collection, body),
    info: (collection) => ready().info(collection),
    create: (name) => ready().create(name),
    upsert: (collection, documents) => ready().upsert(collection, documents),
    remoteIds: (collection) => ready().remoteIds(collection),
    embed: (input) => ready().embed(input),
    seed: () => ready().seed(),
  };
}
