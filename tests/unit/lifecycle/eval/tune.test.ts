// Tests src/lifecycle/eval/tune.ts: tuneCollection (efSearch ladder sweep, hybrid alpha grid with 2-fold cross-validation, storing) and alphaGrid.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusOf } from '../../../../src/api/errors.ts';
import { CollectionNotFoundError, InvalidInputError } from '../../../../src/errors.ts';
import type { EvalDeps } from '../../../../src/lifecycle/eval/deps.ts';
import { getEvalSet, registerEvalSet } from '../../../../src/lifecycle/eval/eval-set.ts';
import { alphaGrid, DEFAULT_TARGET_RECALL, EF_LADDER, tuneCollection, type TuneResult } from '../../../../src/lifecycle/eval/tune.ts';
import type { CollectionRow } from '../../../../src/store/types.ts';
import { seededShuffle } from '../../../../src/util/random.ts';
import {
  degradedDeps,
  DOCS,
  fuseLists,
  MODEL_A,
  ndcg,
  observeQueries,
  openEvalFixture,
  QUERIES,
  queryUnits,
  recallAgainstExact,
  relevantOf,
  serviceFigures,
  storedVectors,
  writeBeir,
  writeMainDataset,
  type EvalFixture,
} from '../../../helpers/eval-fixture.ts';

let fx: EvalFixture;
let dataset: string;
let units: Float32Array[];
let n = 0;

/** 0, 0.05, ..., 1, computed here. */
const GRID = Array.from({ length: 21 }, (_, i) => (i * 5) / 100);

beforeAll(async () => {
  fx = await openEvalFixture('tune');
  dataset = writeMainDataset(fx.path('main'));
  units = await queryUnits(fx.runtime, MODEL_A, QUERIES.map((q) => q.text));
});
afterAll(async () => {
  await fx?.close();
});

async function collection(): Promise<string> {
  const name = `c${++n}`;
  await fx.collection(name);
  return name;
}
const rowOf = (name: string): CollectionRow => fx.runtime.service.context.store.getCollection(name)!;

/**
 * Per-query hybrid nDCG@10 at every alpha of GRID, at `ef`: the dense and keyword top 100 of the
 * service's text searches (what hybrid search fuses), fused here from scratch.
 */
async function gridScores(name: string, ef: number): Promise<number[][]> {
  const perQuery: number[][] = [];
  for (const q of QUERIES) {
    const dense = (await fx.runtime.service.search(name, { mode: 'dense', query: q.text, k: 100, ef })).results;
    const keyword = (await fx.runtime.service.search(name, { mode: 'keyword', query: q.text, k: 100 })).results;
    perQuery.push(GRID.map((alpha) => ndcg(fuseLists(dense, keyword, alpha, 10), relevantOf(q))));
  }
  return GRID.map((_, a) => perQuery.map((row) => row[a]!));
}

const mean = (values: readonly number[], idx: readonly number[]) => idx.reduce((s, i) => s + values[i]!, 0) / idx.length;

/** The best alpha over `idx` by mean; ties to the one nearest `prefer`, then the smaller. */
function best(scores: readonly number[][], idx: readonly number[], prefer: number): { alpha: number; score: number } {
  const means = scores.map((s) => mean(s, idx));
  const top = Math.max(...means);
  const alpha = GRID.filter((_, i) => means[i]! >= top - 1e-12).sort((x, y) => Math.abs(x - prefer) - Math.abs(y - prefer) || x - y)[0]!;
  return { alpha, score: means[GRID.indexOf(alpha)]! };
}

/** ANN recall@10 of the live index at `ef` (first `10 - drop` hits), against brute force. */
async function recallAt(name: string, ef: number, drop = 0): Promise<number> {
  const store = fx.runtime.service.context.store;
  const row = rowOf(name);
  const generation = store.getGeneration(row.liveGeneration!)!;
  const index = await fx.deps.indexes.get(row, generation);
  const vectors = storedVectors(fx.runtime, generation.id);
  let sum = 0;
  for (const u of units) sum += recallAgainstExact(u, (await index.search({ vector: u, k: 10, ef })).slice(0, 10 - drop).map((h) => h.id), vectors);
  return sum / units.length;
}

/** The sweep tune must make: up the ladder until the target is reached or ef covers every document. */
async function expectedSweep(name: string, target: number, drop: (ef: number) => number): Promise<{ ef: number; recall: number }[]> {
  const sweep: { ef: number; recall: number }[] = [];
  for (const ef of EF_LADDER) {
    const recall = await recallAt(name, ef, drop(ef));
    sweep.push({ ef, recall });
    if (recall >= target || ef >= DOCS.length) break;
  }
  return sweep;
}

function expectSweep(result: TuneResult, expected: readonly { ef: number; recall: number }[]): void {
  const got = result.ef_search!.sweep;
  expect(got.map((s) => s.ef)).toEqual(expected.map((s) => s.ef));
  got.forEach((s, i) => expect(s['ann_recall@10'], `ef ${s.ef}`).toBeCloseTo(expected[i]!.recall, 12));
  expect(result.ef_search!.chosen).toBe(expected.at(-1)!.ef);
}

async function invalid(promise: Promise<unknown>, message: RegExp): Promise<InvalidInputError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInputError);
  expect((err as Error).message).toMatch(message);
  return err as InvalidInputError;
}

describe('alphaGrid', () => {
  it('is 0..1 in the given step, rounded', () => {
    expect(alphaGrid()).toEqual(GRID);
    expect(alphaGrid(0.25)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(alphaGrid(0.1)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  });
});

describe('tuneCollection', () => {
  it('stores the grid alpha with the best in-sample nDCG@10 of hybrid searches, and the efSearch reaching the target', async () => {
    const name = await collection();
    const before = rowOf(name);
    const res = await tuneCollection(fx.deps, name, dataset);
    expect(res).toMatchObject({ collection: name, dataset, queries: QUERIES.length, generation: before.liveGeneration, model: MODEL_A, stored: true });

    const ef = res.ef_search!;
    expect(ef).toMatchObject({ previous: 128, target_recall: DEFAULT_TARGET_RECALL, reached: true });
    expectSweep(res, await expectedSweep(name, DEFAULT_TARGET_RECALL, () => 0));

    const scores = await gridScores(name, ef.chosen);
    const all = QUERIES.map((_, i) => i);
    const a = res.alpha;
    expect(a.grid.map((g) => g.alpha)).toEqual(GRID);
    a.grid.forEach((g, i) => expect(g['ndcg@10'], `alpha ${g.alpha}`).toBeCloseTo(mean(scores[i]!, all), 12));
    const chosen = best(scores, all, 0.3);
    expect(a.previous).toBe(0.3);
    expect(a.chosen).toBe(chosen.alpha);
    expect(a['in_sample_ndcg@10']).toBeCloseTo(chosen.score, 12);
    expect(a['in_sample_ndcg@10']).toBe(Math.max(...a.grid.map((g) => g['ndcg@10'])));
    // The fusion above is what hybrid search returns at those alphas.
    for (const alpha of [0, 0.5, 1, a.chosen]) {
      const viaService = await serviceFigures(fx.runtime.service, name, QUERIES, { mode: 'hybrid', k: 10, alpha, ef: ef.chosen });
      expect(viaService['ndcg@10'], `alpha ${alpha}`).toBeCloseTo(mean(scores[GRID.indexOf(alpha)]!, all), 12);
    }
    // The grid is informative: alpha matters on this set.
    expect(Math.min(...a.grid.map((g) => g['ndcg@10']))).toBeLessThan(a['in_sample_ndcg@10'] - 0.05);
    const previous = await serviceFigures(fx.runtime.service, name, QUERIES, { mode: 'hybrid', k: 10, alpha: 0.3, ef: 128 });
    expect(a['previous_ndcg@10']).toBeCloseTo(previous['ndcg@10'], 12);

    // Stored: hybrid searches now default to it and give the in-sample figure.
    const after = rowOf(name);
    expect(after.hybridAlpha).toBe(a.chosen);
    expect(after.hnsw).toEqual({ ...before.hnsw, efSearch: ef.chosen });
    const now = await serviceFigures(fx.runtime.service, name, QUERIES, { mode: 'hybrid', k: 10 });
    expect(now['ndcg@10']).toBeCloseTo(a['in_sample_ndcg@10'], 12);
  });

  it('its cross-validated figure picks alpha on one half of the queries (seeded split) and scores it on the other', async () => {
    const name = await collection();
    const seed = 7;
    const res = await tuneCollection(fx.deps, name, dataset, { seed, dryRun: true });
    expect(res.alpha.seed).toBe(seed);
    const scores = await gridScores(name, res.ef_search!.chosen);
    const shuffled = seededShuffle(QUERIES.map((_, i) => i), seed);
    const halves = [shuffled.slice(0, 5), shuffled.slice(5)];
    let cv = 0;
    res.alpha.folds.forEach((fold, f) => {
      const test = halves[f]!;
      const pick = best(scores, halves[1 - f]!, 0.3);
      expect(fold.alpha, `fold ${f}`).toBe(pick.alpha);
      expect(fold['train_ndcg@10']).toBeCloseTo(pick.score, 12);
      expect(fold['test_ndcg@10']).toBeCloseTo(mean(scores[GRID.indexOf(pick.alpha)]!, test), 12);
      expect(fold.test_queries).toBe(5);
      cv += mean(scores[GRID.indexOf(pick.alpha)]!, test) * test.length;
    });
    expect(res.alpha.folds).toHaveLength(2);
    expect(res.alpha['cv_ndcg@10']).toBeCloseTo(cv / QUERIES.length, 12);
    // The same seed, the same split.
    expect((await tuneCollection(fx.deps, name, dataset, { seed, dryRun: true })).alpha.folds).toEqual(res.alpha.folds);
  });

  it('a dry run reports without storing anything', async () => {
    const name = await collection();
    const before = rowOf(name);
    const res = await tuneCollection(fx.deps, name, dataset, { dryRun: true });
    expect(res.stored).toBe(false);
    expect(res.alpha.grid).toHaveLength(21);
    expect(res.ef_search!.sweep.length).toBeGreaterThan(0);
    expect(rowOf(name)).toEqual(before);
  });

  it('the efSearch sweep climbs the ladder and stops at the first ef whose ANN recall@10 reaches the target', async () => {
    const name = await collection();
    // Below ef 32 the index loses hits: 3 of 10 at ef 10, 2 at 16, 1 at 24.
    const drop = (ef: number) => (ef < 16 ? 3 : ef < 24 ? 2 : ef < 32 ? 1 : 0);
    const deps = degradedDeps(fx.deps, (ef) => drop(ef ?? 0));
    for (const target of [0.75, 0.85, 0.95]) {
      const res = await tuneCollection(deps, name, dataset, { targetRecall: target, dryRun: true });
      const expected = await expectedSweep(name, target, drop);
      expectSweep(res, expected);
      expect(res.ef_search!.reached).toBe(true);
      expect(res.ef_search!.target_recall).toBe(target);
      expect(expected.at(-1)!.recall).toBeGreaterThanOrEqual(target);
      expect(expected.slice(0, -1).every((s) => s.recall < target)).toBe(true);
    }
    // Each target stops higher up than the one below it (the degradation makes the ladder matter).
    const chosen = [];
    for (const target of [0.75, 0.95]) chosen.push((await tuneCollection(deps, name, dataset, { targetRecall: target, dryRun: true })).ef_search!.chosen);
    expect(chosen[0]).toBeLessThan(chosen[1]!);
    expect(chosen[0]).toBeGreaterThan(EF_LADDER[0]!);

    const stored = await tuneCollection(deps, name, dataset, { targetRecall: 0.95 });
    expect(rowOf(name).hnsw.efSearch).toBe(stored.ef_search!.chosen);
  });

  it('when no ef reaches the target it stops once ef covers every document, reached false, and keeps the largest tried', async () => {
    const name = await collection();
    const deps = degradedDeps(fx.deps, () => 1); // never more than 9 of 10
    const res = await tuneCollection(deps, name, dataset, { targetRecall: 0.95, dryRun: true });
    expect(res.ef_search!.sweep.map((s) => s.ef)).toEqual([10, 16, 24, 32, 48]); // 48: the first >= 40 documents
    expect(res.ef_search!.sweep.every((s) => s['ann_recall@10'] <= 0.9 + 1e-9)).toBe(true);
    expect(res.ef_search).toMatchObject({ chosen: 48, reached: false, target_recall: 0.95 });
    expectSweep(res, await expectedSweep(name, 0.95, () => 1));
  });

  it('storing keeps the collection’s other settings and HNSW parameters', async () => {
    const name = `c${++n}`;
    await fx.runtime.service.createCollection({ name, model: MODEL_A, hnsw: { M: 8, efConstruction: 64, efSearch: 200 }, hybridAlpha: 0.9 });
    await fx.runtime.service.upsertDocuments(name, DOCS);
    await fx.runtime.service.updateCollection(name, { settings: { other: { keep: true } } });
    const set = registerEvalSet(fx.deps, name, dataset, 0.02);
    const res = await tuneCollection(fx.deps, name, dataset);
    expect(res.alpha.previous).toBe(0.9);
    expect(res.ef_search!.previous).toBe(200);
    const row = rowOf(name);
    expect(row.hnsw).toEqual({ M: 8, efConstruction: 64, efSearch: res.ef_search!.chosen });
    expect(row.hybridAlpha).toBe(res.alpha.chosen);
    // Of the alphas tied for the best, the one nearest the previous 0.9: a change, stored.
    const scores = await gridScores(name, res.ef_search!.chosen);
    expect(res.alpha.chosen).toBe(best(scores, QUERIES.map((_, i) => i), 0.9).alpha);
    expect(res.alpha.chosen).not.toBe(0.9);
    expect(row.settings.other).toEqual({ keep: true });
    expect(getEvalSet(fx.deps, name)).toEqual(set);
    expect(row.modelTarget).toBe(MODEL_A);
  });

  it('without an efSearch (a Pinecone generation) it tunes and stores alpha only', async () => {
    const name = await collection();
    const before = rowOf(name);
    const store = fx.deps.store;
    const deps: EvalDeps = {
      ...fx.deps,
      store: {
        getCollection: (c) => store.getCollection(c),
        getGeneration: (id) => {
          const g = store.getGeneration(id);
          return g && { ...g, backend: 'pinecone' };
        },
        listGenerations: (c) => store.listGenerations(c),
        updateCollection: (c, patch) => store.updateCollection(c, patch),
        getDocuments: (c, ids) => store.getDocuments(c, ids),
        getVectors: (g, ids) => store.getVectors(g, ids),
        iterateVectors: (g) => store.iterateVectors(g),
      },
    };
    const res = await tuneCollection(deps, name, dataset);
    expect(res.ef_search).toBeNull();
    const row = rowOf(name);
    expect(row.hnsw).toEqual(before.hnsw);
    expect(row.hybridAlpha).toBe(res.alpha.chosen);
    // The grid is scored at the collection's own efSearch.
    const scores = await gridScores(name, before.hnsw.efSearch);
    expect(res.alpha['in_sample_ndcg@10']).toBeCloseTo(best(scores, QUERIES.map((_, i) => i), 0.3).score, 12);
  });

  it('tuning never feeds drift detection', async () => {
    const name = await collection();
    const observed = observeQueries(fx.runtime.service);
    try {
      await tuneCollection(fx.deps, name, dataset, { dryRun: true });
      expect(observed.events.length).toBeGreaterThan(0);
      expect(observed.events.filter((e) => e.queryVector !== undefined)).toEqual([]);
    } finally {
      observed.stop();
    }
  });

  it('refuses a target recall outside (0, 1] as invalid input (HTTP 400), before anything is searched or stored', async () => {
    const name = await collection();
    const before = rowOf(name);
    const observed = observeQueries(fx.runtime.service);
    try {
      for (const targetRecall of [0, -0.5, 1.01, NaN, Infinity, '0.9' as unknown as number]) {
        const err = await invalid(tuneCollection(fx.deps, name, dataset, { targetRecall }), /target recall must be in \(0, 1\]/);
        expect(err.code).toBe('invalid_input');
        expect(statusOf(err.code)).toBe(400);
      }
      expect(observed.events).toEqual([]);
    } finally {
      observed.stop();
    }
    expect(rowOf(name)).toEqual(before);
    // The bound itself is allowed.
    expect((await tuneCollection(fx.deps, name, dataset, { targetRecall: 1, dryRun: true })).ef_search!.target_recall).toBe(1);
  });

  it('refuses an unknown collection, a set that does not match it, and fewer than 2 judged queries', async () => {
    const name = await collection();
    await expect(tuneCollection(fx.deps, 'nope', dataset)).rejects.toBeInstanceOf(CollectionNotFoundError);
    const foreign = writeBeir(fx.path('foreign'), { queries: QUERIES, qrels: [['q01', 'elsewhere', 1]] });
    await invalid(tuneCollection(fx.deps, name, foreign), /none of the 1 document ids judged/);
    const single = writeBeir(fx.path('single'), { queries: QUERIES, qrels: [['q01', 'doc-00', 1]] });
    await invalid(tuneCollection(fx.deps, name, single), /tuning needs at least 2 judged queries/);
    await invalid(tuneCollection(fx.deps, name, fx.path('no-such-set')), /does not exist/);
  });
});
