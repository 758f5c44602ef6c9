// Tests src/search/query.ts: how a search request is planned (validation, mode, candidates, alpha, filter, generation) over a real SQLite store and HNSW index.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config.ts';
import { EnginePool } from '../../../src/embedding/pool.ts';
import { CollectionNotFoundError, EmptyTextError, InvalidInputError, InvalidVectorError } from '../../../src/errors.ts';
import type { VectorHit } from '../../../src/index/types.ts';
import { ModelRegistry } from '../../../src/models/registry.ts';
import type { SearchContext } from '../../../src/search/context.ts';
import { SearchEvents, type QueryObserved } from '../../../src/search/events.ts';
import { GenerationIndexes } from '../../../src/search/generations.ts';
import { KeyedMutex } from '../../../src/search/mutex.ts';
import { checkedVector, search, type SearchHitOut, type SearchRequest } from '../../../src/search/query.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { GenerationRow, KeywordHit } from '../../../src/store/types.ts';
import { mulberry32 } from '../../../src/util/random.ts';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import { matchesFilter, type Filter, type Metadata } from '../../../src/values/filter.ts';
import { unitVectors } from '../../helpers/vectors.ts';

const root = mkdtempSync(join(tmpdir(), 'sextant-query-test-'));
let dirs = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DIM = 6;
/** The collection's model: no such model exists, so any attempt to embed a text fails. */
const MODEL = 'nomodel@1';
const COLLECTION_ALPHA = 0.3;

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

interface Doc {
  readonly id: string;
  readonly title: string | null;
  readonly text: string;
  readonly metadata: Metadata;
  readonly vector: Float32Array;
}

const FRUITS = ['apple', 'banana', 'cherry'];

/**
 * `count` documents: random unit vectors; texts repeat one fruit word a varying number of times
 * among distinct filler words (so BM25 scores spread out); metadata { group, n }.
 */
function corpus(count: number, seed: number): Doc[] {
  const r = mulberry32(seed + 1);
  return unitVectors(count, DIM, seed).map((vector, i) => {
    const words = Array.from({ length: 1 + Math.floor(r() * 5) }, () => FRUITS[i % 3]!);
    for (let j = 0; j < 1 + Math.floor(r() * 8); j++) words.push(`w${i}x${j}`);
    return { id: `doc-${String(i).padStart(3, '0')}`, title: i % 2 === 0 ? `Title ${i}` : null, text: words.join(' '), metadata: { group: i % 4, n: i }, vector };
  });
}

interface Fixture {
  readonly ctx: SearchContext;
  readonly generation: GenerationRow;
  readonly events: QueryObserved[];
  close(): Promise<void>;
}

/** A fresh data dir with collection 'c' holding `docs` (stored in SQLite; the index replays them when opened). */
function open(docs: readonly Doc[]): Fixture {
  const dataDir = join(root, `data-${++dirs}`);
  const config = configSchema.parse({ dataDir, modelsDir: join(dataDir, 'models') });
  const store = SqliteStore.open(dataDir);
  const { generation } = store.createCollection({
    name: 'c',
    modelTarget: MODEL,
    model: MODEL,
    dimensions: DIM,
    backend: 'hnsw',
    hnsw: DEFAULT_HNSW,
    hybridAlpha: COLLECTION_ALPHA,
  });
  if (docs.length > 0) {
    store.upsertDocuments(
      'c',
      docs.map((d) => ({ id: d.id, title: d.title, text: d.text, metadata: d.metadata, contentHash: `h-${d.id}`, vectors: new Map([[generation.id, d.vector]]) })),
    );
  }
  const ctx: SearchContext = {
    config,
    store,
    engines: new EnginePool(new ModelRegistry(config.modelsDir), config),
    indexes: new GenerationIndexes(config, store),
    events: new SearchEvents(),
    writes: new KeyedMutex(),
  };
  const events: QueryObserved[] = [];
  ctx.events.onQuery((e) => events.push(e));
  return {
    ctx,
    generation,
    events,
    async close() {
      await ctx.indexes.closeAll();
      store.close();
    },
  };
}

async function withFixture<T>(docs: readonly Doc[], fn: (f: Fixture) => Promise<T>): Promise<T> {
  const f = open(docs);
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

/** What the live index itself answers (query.ts asks it the same question). */
async function indexHits(f: Fixture, vector: Float32Array, k: number, filter?: Filter, ef?: number): Promise<VectorHit[]> {
  const collection = f.ctx.store.getCollection('c')!;
  const index = await f.ctx.indexes.get(collection, f.generation);
  return index.search({ vector, k, ef: ef ?? collection.hnsw.efSearch, filter });
}

/** Hybrid fusion as documented: alpha x min-max(dense) + (1 - alpha) x min-max(keyword), missing = 0, ties by id. */
function expectedFusion(dense: readonly VectorHit[], keyword: readonly KeywordHit[], alpha: number, k: number) {
  const normaliser = (list: readonly { id: string; score: number }[]) => {
    const scores = list.map((h) => h.score);
    const min = Math.min(...scores);
    const max = Math.max(...scores);
    return (id: string) => {
      const hit = list.find((h) => h.id === id);
      return hit === undefined ? 0 : max === min ? 1 : (hit.score - min) / (max - min);
    };
  };
  const dn = normaliser(dense);
  const kn = normaliser(keyword);
  const rankIn = (list: readonly { id: string; score: number }[], id: string) => {
    const i = list.findIndex((h) => h.id === id);
    return i < 0 ? null : { rank: i + 1, score: list[i]!.score };
  };
  return [...new Set([...dense, ...keyword].map((h) => h.id))]
    .map((id) => ({ id, score: alpha * dn(id) + (1 - alpha) * kn(id), explain: { dense: rankIn(dense, id), keyword: rankIn(keyword, id), alpha } }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, k);
}

const idsOf = (hits: readonly { id: string }[]) => hits.map((h) => h.id);
/** The ranks and scores of an explanation (what these tests check; its reasons: tests/acceptance/explain.test.ts, tests/unit/store/keyword.test.ts). */
const ranksOf = (e: SearchHitOut['explain']) =>
  e && {
    dense: e.dense && { rank: e.dense.rank, score: e.dense.score },
    keyword: e.keyword && { rank: e.keyword.rank, score: e.keyword.score },
    ...(e.alpha === undefined ? {} : { alpha: e.alpha }),
  };
const project = (hits: readonly SearchHitOut[]) => hits.map((h) => ({ id: h.id, score: h.score, explain: ranksOf(h.explain) }));
const vec = (v: Float32Array) => Array.from(v);

describe('checkedVector', () => {
  it('normalises to unit length without changing direction or the input', () => {
    const input = [3, 0, -4];
    const v = checkedVector(input, 3);
    expect(v).toBeInstanceOf(Float32Array);
    expect(v[0]).toBeCloseTo(0.6, 6);
    expect(v[1]).toBe(0);
    expect(v[2]).toBeCloseTo(-0.8, 6);
    expect(input).toEqual([3, 0, -4]);
    const r = mulberry32(5);
    for (let i = 0; i < 200; i++) {
      const raw = Array.from({ length: 1 + Math.floor(r() * 20) }, () => (r() - 0.5) * 10 ** Math.floor(r() * 6 - 3));
      const unit = checkedVector(raw, raw.length);
      expect(cosine(unit, unit)).toBeCloseTo(1, 5);
      expect(cosine(unit, raw) / Math.sqrt(cosine(raw, raw))).toBeCloseTo(1, 5);
    }
  });

  it('rejects other dimensions, non-finite values (also after float32 rounding) and all zeros', () => {
    expect(() => checkedVector([1, 2], 3)).toThrow(InvalidVectorError);
    expect(() => checkedVector([1, 2], 3)).toThrow('vector has 2 dimensions; this collection\'s model makes 3');
    expect(() => checkedVector([1, Number.NaN, 1], 3)).toThrow('vector[1] is not a finite number');
    expect(() => checkedVector([Infinity, 1, 1], 3)).toThrow('vector[0] is not a finite number');
    expect(() => checkedVector([1, 1, 1e39], 3)).toThrow('vector[2] is not a finite number');
    expect(() => checkedVector([0, 0, 0], 3)).toThrow('vector is all zeros');
    expect(() => checkedVector([1e-46, 0, 0], 3)).toThrow('vector is all zeros');
  });
});

describe('search: request validation', () => {
  const docs = corpus(10, 1);
  const q = vec(docs[0]!.vector);

  it('an unknown collection fails first', async () => {
    await withFixture(docs, async (f) => {
      await expect(search(f.ctx, 'nope', { mode: 'dense', k: 3 })).rejects.toThrow(CollectionNotFoundError);
    });
  });

  it('a blank query text is refused in every mode, even beside a vector', async () => {
    await withFixture(docs, async (f) => {
      for (const mode of ['dense', 'keyword', 'hybrid'] as const) {
        await expect(search(f.ctx, 'c', { mode, query: ' \n\t ', vector: q, k: 3 })).rejects.toThrow(EmptyTextError);
      }
      await expect(search(f.ctx, 'c', { mode: 'keyword', query: '', k: 3 })).rejects.toThrow(EmptyTextError);
    });
  });

  it('keyword and hybrid need a query text; dense needs a text or a vector', async () => {
    await withFixture(docs, async (f) => {
      await expect(search(f.ctx, 'c', { mode: 'keyword', vector: q, k: 3 })).rejects.toThrow("mode 'keyword' needs a text \"query\"");
      await expect(search(f.ctx, 'c', { mode: 'hybrid', vector: q, k: 3 })).rejects.toThrow("mode 'hybrid' needs a text \"query\"");
      const neither = search(f.ctx, 'c', { mode: 'dense', k: 3 });
      await expect(neither).rejects.toThrow(InvalidInputError);
      await expect(neither).rejects.toThrow('give a "query" text or a "vector"');
    });
  });

  it('a supplied vector must fit the generation and be finite and non-zero (dense and hybrid)', async () => {
    await withFixture(docs, async (f) => {
      await expect(search(f.ctx, 'c', { mode: 'dense', vector: [1, 2, 3], k: 3 })).rejects.toThrow(InvalidVectorError);
      await expect(search(f.ctx, 'c', { mode: 'hybrid', query: 'apple', vector: new Array(DIM).fill(0), k: 3 })).rejects.toThrow(InvalidVectorError);
      await expect(search(f.ctx, 'c', { mode: 'dense', vector: [Number.NaN, ...q.slice(1)], k: 3 })).rejects.toThrow(InvalidVectorError);
    });
  });

  it('a generation that is not this collection\'s is refused', async () => {
    await withFixture(docs, async (f) => {
      f.ctx.store.createCollection({ name: 'other', modelTarget: MODEL, model: MODEL, dimensions: DIM, backend: 'hnsw', hnsw: DEFAULT_HNSW, hybridAlpha: 0.5 });
      const foreign = f.ctx.store.getCollection('other')!.liveGeneration!;
      await expect(search(f.ctx, 'c', { mode: 'dense', vector: q, k: 3, generation: foreign })).rejects.toThrow(`collection 'c' has no generation ${foreign}`);
      await expect(search(f.ctx, 'c', { mode: 'dense', vector: q, k: 3, generation: 999 })).rejects.toThrow(InvalidInputError);
    });
  });

  it('the ef goes to the index, which refuses a non-positive one', async () => {
    await withFixture(docs, async (f) => {
      await expect(search(f.ctx, 'c', { mode: 'dense', vector: q, k: 3, ef: 0 })).rejects.toThrow('ef must be a positive integer');
      await expect(search(f.ctx, 'c', { mode: 'hybrid', query: 'apple', vector: q, k: 3, ef: -1 })).rejects.toThrow('ef must be a positive integer');
    });
  });
});

describe('search: dense mode', () => {
  const docs = corpus(40, 2);

  it('answers with the k nearest documents by cosine of the normalised query, best first, without embedding anything', async () => {
    await withFixture(docs, async (f) => {
      const raw = unitVectors(1, DIM, 500)[0]!.map((x) => x * 7); // not unit length
      const res = await search(f.ctx, 'c', { mode: 'dense', query: 'ignored text', vector: vec(raw), k: 5, explain: true });
      const unit = raw.map((x) => x / 7);
      const truth = docs
        .map((d) => ({ id: d.id, score: cosine(unit, d.vector) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 5);
      expect(idsOf(res.results)).toEqual(idsOf(truth));
      res.results.forEach((h, i) => {
        expect(h.score).toBeCloseTo(truth[i]!.score, 5);
        expect(ranksOf(h.explain)).toEqual({ dense: { rank: i + 1, score: h.score }, keyword: null });
        expect(h.metadata).toEqual(docs.find((d) => d.id === h.id)!.metadata);
      });
      expect(res.model).toBe(MODEL);
      expect(res.generation).toBe(f.generation.id);
    });
  });

  it('k caps the results; k past the document count returns them all; k 0 returns none', async () => {
    await withFixture(docs, async (f) => {
      const q = vec(docs[3]!.vector);
      expect((await search(f.ctx, 'c', { mode: 'dense', vector: q, k: 1 })).results.map((h) => h.id)).toEqual([docs[3]!.id]);
      expect((await search(f.ctx, 'c', { mode: 'dense', vector: q, k: 1000 })).results).toHaveLength(40);
      expect((await search(f.ctx, 'c', { mode: 'dense', vector: q, k: 0 })).results).toEqual([]);
    });
  });

  it('a filter restricts the candidates to matching documents', async () => {
    await withFixture(docs, async (f) => {
      const q = unitVectors(1, DIM, 501)[0]!;
      const filter: Filter = { $or: [{ group: 1 }, { n: { $gte: 35 } }] };
      const res = await search(f.ctx, 'c', { mode: 'dense', vector: vec(q), k: 6, filter });
      const truth = docs
        .filter((d) => matchesFilter(filter, d.metadata))
        .map((d) => ({ id: d.id, score: cosine(q, d.vector) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 6);
      expect(idsOf(res.results)).toEqual(idsOf(truth));
    });
  });

  it('shows text and title only when asked, and explain only when asked', async () => {
    await withFixture(docs, async (f) => {
      const q = vec(docs[0]!.vector);
      const plain = await search(f.ctx, 'c', { mode: 'dense', vector: q, k: 2 });
      for (const h of plain.results) expect(Object.keys(h).sort()).toEqual(['id', 'metadata', 'score']);
      const full = await search(f.ctx, 'c', { mode: 'dense', vector: q, k: 40, includeText: true });
      for (const h of full.results) {
        const doc = docs.find((d) => d.id === h.id)!;
        expect(Object.keys(h).sort()).toEqual(['id', 'metadata', 'score', 'text', 'title']);
        expect(h.text).toBe(doc.text);
        expect(h.title).toBe(doc.title);
      }
      // Odd documents have no title: it shows as null.
      expect(full.results.map((h) => h.title)).toContain(null);
      expect(full.results.map((h) => h.title)).toContain('Title 0');
    });
  });

  it('leaves out a hit whose document left the store after the index answered, without backfilling', async () => {
    await withFixture(docs, async (f) => {
      const q = unitVectors(1, DIM, 502)[0]!;
      const before = await indexHits(f, q, 5); // opens the index while the document is still there
      f.ctx.store.deleteDocuments('c', [before[1]!.id]); // the store only: the index still holds it
      const res = await search(f.ctx, 'c', { mode: 'dense', vector: vec(q), k: 5 });
      expect(idsOf(res.results)).toEqual(idsOf(before).filter((_, i) => i !== 1));
    });
  });

  it('reports the query to subscribers: mode, generation, top dense score, no query vector for a supplied vector', async () => {
    await withFixture(docs, async (f) => {
      const q = vec(docs[7]!.vector);
      const res = await search(f.ctx, 'c', { mode: 'dense', vector: q, k: 3 });
      expect(f.events).toHaveLength(1);
      const e = f.events[0]!;
      expect(e).toMatchObject({ collection: 'c', generation: f.generation.id, model: MODEL, mode: 'dense' });
      expect(e.topScore).toBe(res.results[0]!.score);
      expect(e.queryVector).toBeUndefined();
      expect(e.tokens).toBeUndefined();
    });
  });
});

describe('search: keyword mode', () => {
  const docs = corpus(40, 3);

  it('answers with the store\'s BM25 ranking, k of them, without the index or a model', async () => {
    await withFixture(docs, async (f) => {
      const res = await search(f.ctx, 'c', { mode: 'keyword', query: 'banana', k: 4, explain: true });
      const bm25 = f.ctx.store.keywordSearch('c', 'banana', 4);
      expect(bm25).toHaveLength(4);
      expect(res.results.map((h) => ({ id: h.id, score: h.score }))).toEqual(bm25);
      res.results.forEach((h, i) => expect(ranksOf(h.explain)).toEqual({ dense: null, keyword: { rank: i + 1, score: h.score } }));
      // The keyword side carries its terms, summing to the score.
      for (const h of res.results) expect(h.explain!.keyword!.terms!.reduce((s, t) => s + t.contribution, 0)).toBeCloseTo(h.score, 9);
      // Every banana document is one with i % 3 === 1.
      for (const h of res.results) expect((h.metadata as { n: number }).n % 3).toBe(1);
      expect(f.events.map((e) => [e.mode, e.topScore])).toEqual([['keyword', undefined]]);
    });
  });

  it('a filter restricts the BM25 candidates to matching documents', async () => {
    await withFixture(docs, async (f) => {
      const filter: Filter = { group: { $in: [0, 3] } };
      const res = await search(f.ctx, 'c', { mode: 'keyword', query: 'apple cherry', k: 50, filter });
      const allowed = new Set(docs.filter((d) => matchesFilter(filter, d.metadata)).map((d) => d.id));
      expect(res.results.map((h) => ({ id: h.id, score: h.score }))).toEqual(f.ctx.store.keywordSearch('c', 'apple cherry', 50, allowed));
      const appleOrCherry = docs.filter((d) => (d.metadata.n as number) % 3 !== 1);
      expect(new Set(idsOf(res.results))).toEqual(new Set(appleOrCherry.filter((d) => allowed.has(d.id)).map((d) => d.id)));
    });
  });

  it('a query without a word in it finds nothing', async () => {
    await withFixture(docs, async (f) => {
      expect((await search(f.ctx, 'c', { mode: 'keyword', query: '?! -- ***', k: 5 })).results).toEqual([]);
    });
  });
});

describe('search: hybrid mode', () => {
  it('fuses the index and BM25 lists with the collection alpha unless the request sets one (0 included)', async () => {
    const docs = corpus(40, 4);
    await withFixture(docs, async (f) => {
      const q = unitVectors(1, DIM, 600)[0]!;
      const dense = await indexHits(f, q, 100);
      expect(dense).toHaveLength(40);
      const keyword = f.ctx.store.keywordSearch('c', 'apple banana', 100);
      for (const [alpha, effective] of [
        [undefined, COLLECTION_ALPHA],
        [0.8, 0.8],
        [0, 0],
        [1, 1],
      ] as const) {
        const req: SearchRequest = { mode: 'hybrid', query: 'apple banana', vector: vec(q), k: 8, explain: true, ...(alpha === undefined ? {} : { alpha }) };
        const res = await search(f.ctx, 'c', req);
        expect(project(res.results)).toEqual(expectedFusion(dense, keyword, effective, 8));
      }
      // alpha 0 is the keyword order (its top hits are BM25's, best first); alpha 1 the dense order.
      const k0 = await search(f.ctx, 'c', { mode: 'hybrid', query: 'apple banana', vector: vec(q), k: 5, alpha: 0 });
      expect(idsOf(k0.results)).toEqual(idsOf(keyword.slice(0, 5)));
      const k1 = await search(f.ctx, 'c', { mode: 'hybrid', query: 'apple banana', vector: vec(q), k: 5, alpha: 1 });
      expect(idsOf(k1.results)).toEqual(idsOf(dense.slice(0, 5)));
    });
  });

  it('each side contributes max(k, 100) candidates: the normalising minimum is the 100th score (or the k-th past 100)', async () => {
    const docs = corpus(160, 5);
    await withFixture(docs, async (f) => {
      const q = unitVectors(1, DIM, 601)[0]!;
      const text = 'apple banana cherry'; // every document holds one of the words
      const dense160 = await indexHits(f, q, 160);
      const keyword160 = f.ctx.store.keywordSearch('c', text, 160);
      expect(keyword160).toHaveLength(160);
      for (const k of [5, 120]) {
        const candidates = Math.max(k, 100);
        const expected = expectedFusion(await indexHits(f, q, candidates), f.ctx.store.keywordSearch('c', text, candidates), 0.5, k);
        // The check can tell: taking every candidate would score differently.
        expect(expectedFusion(dense160, keyword160, 0.5, k).map((h) => h.score)).not.toEqual(expected.map((h) => h.score));
        const res = await search(f.ctx, 'c', { mode: 'hybrid', query: text, vector: vec(q), k, alpha: 0.5, explain: true });
        expect(project(res.results)).toEqual(expected);
      }
      // The reported top dense score is the dense list's best, whatever the fusion put first.
      expect(f.events.every((e) => e.mode === 'hybrid' && e.topScore === dense160[0]!.score)).toBe(true);
    });
  });

  it('applies the filter to both sides', async () => {
    const docs = corpus(60, 6);
    await withFixture(docs, async (f) => {
      const q = unitVectors(1, DIM, 602)[0]!;
      const filter: Filter = { group: { $ne: 2 }, n: { $lt: 45 } };
      const allowed = new Set(docs.filter((d) => matchesFilter(filter, d.metadata)).map((d) => d.id));
      const dense = await indexHits(f, q, 100, filter);
      const keyword = f.ctx.store.keywordSearch('c', 'banana', 100, allowed);
      expect(dense.every((h) => allowed.has(h.id))).toBe(true);
      const res = await search(f.ctx, 'c', { mode: 'hybrid', query: 'banana', vector: vec(q), k: 10, filter, alpha: 0.4, explain: true });
      expect(project(res.results)).toEqual(expectedFusion(dense, keyword, 0.4, 10));
      expect(res.results.every((h) => matchesFilter(filter, h.metadata))).toBe(true);
    });
  });

  it('with no keyword match the fused order is the dense order, scaled by alpha', async () => {
    const docs = corpus(30, 7);
    await withFixture(docs, async (f) => {
      const q = unitVectors(1, DIM, 603)[0]!;
      const res = await search(f.ctx, 'c', { mode: 'hybrid', query: 'durian', vector: vec(q), k: 4, alpha: 0.25, explain: true });
      const dense = await indexHits(f, q, 100);
      expect(idsOf(res.results)).toEqual(idsOf(dense.slice(0, 4)));
      expect(res.results[0]!.score).toBe(0.25);
      expect(res.results.every((h) => h.explain!.keyword === null && h.explain!.alpha === 0.25)).toBe(true);
    });
  });
});

describe('search: generations', () => {
  it('searches the generation asked for (another model and dimensions) and reports it; the live one stays the default', async () => {
    const docs = corpus(12, 8);
    await withFixture(docs, async (f) => {
      const building = f.ctx.store.createGeneration('c', { model: 'next@2', dimensions: 3, backend: 'hnsw' });
      const small = unitVectors(12, 3, 800);
      f.ctx.store.putGenerationVectors(
        'c',
        building.id,
        docs.map((d, i) => ({ id: d.id, vector: small[i]!, contentHash: `h-${d.id}` })),
      );
      const q = small[5]!;
      const res = await search(f.ctx, 'c', { mode: 'dense', vector: vec(q), k: 3, generation: building.id });
      expect(res.generation).toBe(building.id);
      expect(res.model).toBe('next@2');
      expect(res.results[0]!.id).toBe(docs[5]!.id);
      const truth = docs
        .map((d, i) => ({ id: d.id, score: cosine(q, small[i]!) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 3);
      expect(idsOf(res.results)).toEqual(idsOf(truth));
      expect(f.events[0]).toMatchObject({ generation: building.id, model: 'next@2' });
      // Without `generation` the live one answers, and a 3-d vector does not fit it.
      await expect(search(f.ctx, 'c', { mode: 'dense', vector: vec(q), k: 3 })).rejects.toThrow(InvalidVectorError);
      const live = await search(f.ctx, 'c', { mode: 'dense', vector: vec(docs[5]!.vector), k: 1 });
      expect(live.generation).toBe(f.generation.id);
      expect(live.model).toBe(MODEL);
    });
  });
});
