// Tests src/lifecycle/eval/ann.ts: embedQuery/embedQueries, exactTopK, annRecallOne and annRecall, against brute force computed here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorIndex, VectorQuery } from '../../../../src/index/types.ts';
import { annRecall, annRecallOne, embedQueries, embedQuery, exactTopK, type ScoredId } from '../../../../src/lifecycle/eval/ann.ts';
import { InvalidVectorError } from '../../../../src/errors.ts';
import type { CollectionRow, GenerationRow } from '../../../../src/store/types.ts';
import {
  bruteForce,
  DOCS,
  dotProduct,
  MODEL_A,
  MODEL_B,
  openEvalFixture,
  QUERIES,
  queryUnits,
  recallAgainstExact,
  storedVectors,
  unit,
  type EvalFixture,
} from '../../../helpers/eval-fixture.ts';

const COL = 'c';
let fx: EvalFixture;
let generation: number;
let units: Float32Array[];
let row: CollectionRow;
let gen: GenerationRow;

beforeAll(async () => {
  fx = await openEvalFixture('ann');
  generation = await fx.collection(COL);
  units = await queryUnits(fx.runtime, MODEL_A, QUERIES.map((q) => q.text));
  row = fx.runtime.service.context.store.getCollection(COL)!;
  gen = fx.runtime.service.context.store.getGeneration(generation)!;
});
afterAll(async () => {
  await fx?.close();
});

/** An in-memory vector reader over (id, vector) pairs, iterated in the given order. */
function memoryStore(entries: readonly [string, number[]][]) {
  const map = new Map(entries.map(([id, v]) => [id, unit(v)]));
  return {
    iterateVectors: (_generation: number) => [...map].map(([id, vector]) => ({ id, vector }))[Symbol.iterator](),
    getVectors: (_generation: number, ids: readonly string[]) => new Map(ids.filter((id) => map.has(id)).map((id) => [id, map.get(id)!])),
  } as unknown as Parameters<typeof exactTopK>[0];
}

describe('embedQuery', () => {
  it("is the engine's query vector for the text, and its normalised form", async () => {
    const engine = await fx.runtime.service.engines.get(MODEL_A);
    for (const q of QUERIES.slice(0, 3)) {
      const v = await embedQuery(fx.deps, MODEL_A, q.text);
      const expected = (await engine.embed([q.text], 'query')).vectors[0]!;
      expect(Array.isArray(v.raw)).toBe(true);
      expect(v.raw).toEqual(Array.from(expected));
      expect(v.unit).toBeInstanceOf(Float32Array);
      expect(v.unit).toHaveLength(32);
      const u = unit(expected);
      for (let i = 0; i < u.length; i++) expect(v.unit[i]).toBeCloseTo(u[i]!, 6);
      expect(dotProduct(v.unit, v.unit)).toBeCloseTo(1, 5);
    }
    expect((await embedQuery(fx.deps, MODEL_B, 'river water')).unit).toHaveLength(48);
  });

  it('searching with its raw vector ranks exactly as searching the text, in dense and hybrid mode', async () => {
    for (const q of QUERIES) {
      const { raw } = await embedQuery(fx.deps, MODEL_A, q.text);
      for (const mode of ['dense', 'hybrid'] as const) {
        const byText = await fx.runtime.service.search(COL, { mode, query: q.text, k: 10 });
        const byVector = await fx.runtime.service.search(COL, { mode, query: mode === 'hybrid' ? q.text : undefined, vector: raw, k: 10 });
        expect(byVector.results.map((r) => [r.id, r.score]), `${q.id} ${mode}`).toEqual(byText.results.map((r) => [r.id, r.score]));
      }
    }
  });

  it('embedQueries embeds each text as embedQuery does, in order', async () => {
    const texts = QUERIES.slice(0, 4).map((q) => q.text);
    const many = await embedQueries(fx.deps, MODEL_A, texts);
    expect(many).toHaveLength(4);
    for (const [i, t] of texts.entries()) expect(many[i]!.raw).toEqual((await embedQuery(fx.deps, MODEL_A, t)).raw);
    expect(await embedQueries(fx.deps, MODEL_A, [])).toEqual([]);
  });

  it("refuses a vector that does not match the engine's dimensions (a misbehaving engine)", async () => {
    const deps = {
      ...fx.deps,
      engines: { ...fx.deps.engines, get: async () => ({ dimensions: 3, embed: async () => ({ vectors: [Float32Array.from([1, 2])] }) }) },
    } as unknown as typeof fx.deps;
    await expect(embedQuery(deps, MODEL_A, 'x')).rejects.toBeInstanceOf(InvalidVectorError);
  });
});

describe('exactTopK', () => {
  it("is the brute-force cosine top k over the generation's stored vectors, best first", async () => {
    const vectors = storedVectors(fx.runtime, generation);
    expect(vectors).toHaveLength(DOCS.length);
    for (const k of [1, 3, 10, 40, 100]) {
      const tops = await exactTopK(fx.runtime.service.context.store, generation, units, k);
      expect(tops).toHaveLength(units.length);
      tops.forEach((top, q) => {
        const expected = bruteForce(units[q]!, vectors).slice(0, k);
        expect(top.map((t) => t.id), `k ${k} query ${q}`).toEqual(expected.map((e) => e.id));
        top.forEach((t, i) => expect(t.score).toBeCloseTo(expected[i]!.score, 6));
      });
    }
  });

  it('keeps the first of tied documents in store order, and gives empty answers for a generation without vectors', async () => {
    const store = memoryStore([
      ['a', [1, 0]],
      ['b', [0, 1]],
      ['c', [1, 0]],
      ['d', [1, 1]],
    ]);
    const [top] = await exactTopK(store, 1, [unit([1, 0])], 3);
    expect(top!.map((t) => t.id)).toEqual(['a', 'c', 'd']);
    expect(top![2]!.score).toBeCloseTo(Math.SQRT1_2, 6);
    expect(await exactTopK(memoryStore([]), 1, [unit([1, 0]), unit([0, 1])], 10)).toEqual([[], []]);
    expect(await exactTopK(store, 1, [], 10)).toEqual([]);
  });
});

describe('annRecallOne', () => {
  // Cosines with q = [1, 0]: a 1, b 0.8, c 0.6, d 0.6 (same vector as c), e 0, f -1.
  const store = memoryStore([
    ['a', [1, 0]],
    ['b', [0.8, 0.6]],
    ['c', [0.6, 0.8]],
    ['d', [0.6, 0.8]],
    ['e', [0, 1]],
    ['f', [-1, 0]],
  ]);
  const q = unit([1, 0]);
  const exact: ScoredId[] = [
    { id: 'a', score: 1 },
    { id: 'b', score: 0.8 },
    { id: 'c', score: 0.6 },
  ];

  it('is the share of the exact top k returned', () => {
    expect(annRecallOne(store, 1, q, ['a', 'b', 'c'], exact, 3)).toBe(1);
    expect(annRecallOne(store, 1, q, ['c', 'a', 'b'], exact, 3)).toBe(1); // order does not matter
    expect(annRecallOne(store, 1, q, ['a', 'e', 'f'], exact, 3)).toBeCloseTo(1 / 3, 12);
    expect(annRecallOne(store, 1, q, ['a', 'b'], exact, 3)).toBeCloseTo(2 / 3, 12);
    expect(annRecallOne(store, 1, q, [], exact, 3)).toBe(0);
  });

  it('counts a document tied with the exact k-th best (a duplicate) as found', () => {
    expect(annRecallOne(store, 1, q, ['a', 'b', 'd'], exact, 3)).toBe(1);
  });

  it('counts a repeated id once, ignores ids without a vector and looks at the first k returned only', () => {
    expect(annRecallOne(store, 1, q, ['a', 'a', 'a'], exact, 3)).toBeCloseTo(1 / 3, 12);
    expect(annRecallOne(store, 1, q, ['a', 'ghost', 'b'], exact, 3)).toBeCloseTo(2 / 3, 12);
    expect(annRecallOne(store, 1, q, ['e', 'f', 'a', 'b', 'c'], exact, 3)).toBeCloseTo(1 / 3, 12);
  });

  it('expects min(k, exact size) documents, and is 1 when there is nothing to find', () => {
    expect(annRecallOne(store, 1, q, ['a', 'b', 'c'], exact, 10)).toBe(1);
    expect(annRecallOne(store, 1, q, ['a', 'b', 'c', 'd', 'e', 'f'], exact, 10)).toBe(1); // capped at 1
    expect(annRecallOne(store, 1, q, ['a'], exact, 10)).toBeCloseTo(1 / 3, 12);
    expect(annRecallOne(store, 1, q, ['a'], [], 10)).toBe(1);
  });
});

describe('annRecall', () => {
  it("is the mean recall of the generation's index at ef against brute force over the stored vectors", async () => {
    const index = await fx.runtime.service.context.indexes.get(row, gen);
    const store = fx.runtime.service.context.store;
    const exact = await exactTopK(store, generation, units, 10);
    const vectors = storedVectors(fx.runtime, generation);
    for (const ef of [1, 10, 16, 128]) {
      let expected = 0;
      for (const u of units) expected += recallAgainstExact(u, (await index.search({ vector: u, k: 10, ef })).map((h) => h.id), vectors);
      expected /= units.length;
      expect(await annRecall(store, generation, index, units, exact, 10, ef), `ef ${ef}`).toBeCloseTo(expected, 12);
      if (ef === 128) expect(expected).toBe(1); // ef above the document count: the graph search is exhaustive
    }
  });

  it('asks the index for k at the given ef, once per query, and averages the per-query recall', async () => {
    const store = fx.runtime.service.context.store;
    const real = await fx.runtime.service.context.indexes.get(row, gen);
    const exact = await exactTopK(store, generation, units, 10);
    const calls: VectorQuery[] = [];
    // Query i gets its first 10 - (i % 4) hits: per-query recall 1, 0.9, 0.8, 0.7, 1, ...
    let i = 0;
    const index = {
      search: async (query: VectorQuery) => {
        calls.push(query);
        const drop = i++ % 4;
        return (await real.search(query)).slice(0, 10 - drop);
      },
    } as unknown as VectorIndex;
    const got = await annRecall(store, generation, index, units, exact, 10, 24);
    expect(calls).toHaveLength(units.length);
    expect(calls.every((c) => c.k === 10 && c.ef === 24)).toBe(true);
    const perQuery = units.map((_, q) => (10 - (q % 4)) / 10);
    expect(got).toBeCloseTo(perQuery.reduce((a, b) => a + b, 0) / units.length, 12);
  });

  it('is 1 for no queries', async () => {
    const index = await fx.runtime.service.context.indexes.get(row, gen);
    expect(await annRecall(fx.runtime.service.context.store, generation, index, [], [], 10, 10)).toBe(1);
  });
});
