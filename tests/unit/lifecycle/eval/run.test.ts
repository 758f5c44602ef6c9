// Tests src/lifecycle/eval/run.ts: evaluateCollection, missingJudgedDocuments and percentile, over EvalDeps from the composition root, with tiny BERTs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectionNotFoundError, InvalidInputError } from '../../../../src/errors.ts';
import { readEvalDataset } from '../../../../src/lifecycle/eval/dataset.ts';
import { evaluateCollection, EVAL_MODES, missingJudgedDocuments, percentile } from '../../../../src/lifecycle/eval/run.ts';
import {
  degradedDeps,
  MODEL_A,
  observeQueries,
  openEvalFixture,
  queryUnits,
  QUERIES,
  recallAgainstExact,
  serviceFigures,
  storedVectors,
  writeBeir,
  writeMainDataset,
  type EvalFixture,
} from '../../../helpers/eval-fixture.ts';

const COL = 'c';
let fx: EvalFixture;
let generation: number;
/** The main evaluation set: 10 judged queries, one unjudged, one judged id the corpus lacks. */
let dataset: string;

beforeAll(async () => {
  fx = await openEvalFixture('run');
  generation = await fx.collection(COL);
  dataset = writeMainDataset(fx.path('main'));
});
afterAll(async () => {
  await fx?.close();
});

/** Mean ANN recall@10 of the dense searches the service makes (top 10 at `ef`, first `keep` hits), against brute force. */
async function independentAnnRecall(ef: number, keep = 10): Promise<number> {
  const vectors = storedVectors(fx.runtime, generation);
  const units = await queryUnits(fx.runtime, MODEL_A, QUERIES.map((q) => q.text));
  let sum = 0;
  for (const u of units) {
    const res = await fx.runtime.service.search(COL, { mode: 'dense', vector: Array.from(u), k: 10, ef });
    sum += recallAgainstExact(u, res.results.map((r) => r.id).slice(0, keep), vectors);
  }
  return sum / units.length;
}

async function invalid(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInputError);
  expect((err as Error).message).toMatch(message);
}

describe('evaluateCollection', () => {
  it('reports, per mode, the nDCG@10, MRR@10 and Recall@100 of the service’s own text searches', async () => {
    const res = await evaluateCollection(fx.deps, COL, dataset);
    expect(res).toMatchObject({
      collection: COL,
      dataset,
      queries: QUERIES.length,
      generation,
      model: MODEL_A,
      k: 100,
      ef_search: 128,
      hybrid_alpha: fx.config.hybridAlpha,
      missing_judged_documents: 1, // q10 judges 'ghost'
    });
    expect(Object.keys(res.modes)).toEqual(['dense', 'keyword', 'hybrid']);
    for (const mode of EVAL_MODES) {
      const expected = await serviceFigures(fx.runtime.service, COL, QUERIES, { mode, k: 100 });
      const m = res.modes[mode]!;
      expect(Object.keys(m).sort(), mode).toEqual(['mrr@10', 'ndcg@10', 'recall@100']);
      expect(m['ndcg@10'], mode).toBeCloseTo(expected['ndcg@10'], 12);
      expect(m['mrr@10'], mode).toBeCloseTo(expected['mrr@10'], 12);
      expect(m['recall@100'], mode).toBeCloseTo(expected.recall, 12);
    }
    // The corpus is built so that the figures are informative, not all 0 or 1.
    expect(res.modes.keyword!['ndcg@10']).toBeGreaterThan(0.3);
    expect(res.modes.keyword!['ndcg@10']).toBeLessThan(1);
    expect(res.modes.dense!['recall@100']).toBeCloseTo(0.975, 12); // all 40 documents; 'ghost' never found
    expect(res['ann_recall@10']).toBeCloseTo(await independentAnnRecall(128), 12);
    expect(res.latency_ms).not.toBeNull();
    expect(res.latency_ms!.p50).toBeGreaterThanOrEqual(0);
    expect(res.latency_ms!.p99).toBeGreaterThanOrEqual(res.latency_ms!.p50);
  });

  it('measures at the recall depth, efSearch and hybrid alpha it is given or the collection has', async () => {
    const name = 'c-alpha';
    await fx.collection(name);
    await fx.runtime.service.updateCollection(name, { hybridAlpha: 0.7, efSearch: 40 });
    const res = await evaluateCollection(fx.deps, name, dataset, { k: 20, ef: 16 });
    expect(res).toMatchObject({ k: 20, ef_search: 16, hybrid_alpha: 0.7 });
    for (const mode of EVAL_MODES) {
      const expected = await serviceFigures(fx.runtime.service, name, QUERIES, { mode, k: 20, ef: 16 });
      const m = res.modes[mode]!;
      expect(Object.keys(m).sort(), mode).toEqual(['mrr@10', 'ndcg@10', 'recall@20']);
      expect(m['ndcg@10'], mode).toBeCloseTo(expected['ndcg@10'], 12);
      expect(m['mrr@10'], mode).toBeCloseTo(expected['mrr@10'], 12);
      expect(m['recall@20'], mode).toBeCloseTo(expected.recall, 12);
    }
    // Without an override, the collection's efSearch.
    expect((await evaluateCollection(fx.deps, name, dataset, { modes: ['keyword'] })).ef_search).toBe(40);
  });

  it('evaluates only the modes asked for, reported in dense, keyword, hybrid order; ANN recall and latency need dense', async () => {
    const noDense = await evaluateCollection(fx.deps, COL, dataset, { modes: ['hybrid', 'keyword'] });
    expect(Object.keys(noDense.modes)).toEqual(['keyword', 'hybrid']);
    expect(noDense['ann_recall@10']).toBeNull();
    expect(noDense.latency_ms).toBeNull();

    const noAnn = await evaluateCollection(fx.deps, COL, dataset, { modes: ['hybrid', 'dense'], annRecall: false });
    expect(Object.keys(noAnn.modes)).toEqual(['dense', 'hybrid']);
    expect(noAnn['ann_recall@10']).toBeNull();
    expect(noAnn.latency_ms).not.toBeNull();
    const hybrid = await serviceFigures(fx.runtime.service, COL, QUERIES, { mode: 'hybrid' });
    expect(noAnn.modes.hybrid!['ndcg@10']).toBeCloseTo(hybrid['ndcg@10'], 12);
  });

  it('recall: false makes every search a top-10 one and reports no Recall@k', async () => {
    const res = await evaluateCollection(fx.deps, COL, dataset, { recall: false, annRecall: false });
    for (const mode of EVAL_MODES) {
      const m = res.modes[mode]!;
      expect(Object.keys(m).sort(), mode).toEqual(['mrr@10', 'ndcg@10']);
      const expected = await serviceFigures(fx.runtime.service, COL, QUERIES, { mode, k: 10 });
      expect(m['ndcg@10'], mode).toBeCloseTo(expected['ndcg@10'], 12);
      expect(m['mrr@10'], mode).toBeCloseTo(expected['mrr@10'], 12);
    }
  });

  it('ANN recall@10 is the share of the brute-force top 10 over the stored vectors that the index returns at the efSearch used', async () => {
    // This index drops the last 3 of its 10 hits below ef 32.
    const deps = degradedDeps(fx.deps, (ef) => ((ef ?? 0) < 32 ? 3 : 0));
    const at16 = await evaluateCollection(deps, COL, dataset, { ef: 16, modes: ['dense'], recall: false });
    expect(at16['ann_recall@10']).toBeCloseTo(await independentAnnRecall(16, 7), 12);
    expect(at16['ann_recall@10']).toBeGreaterThan(0);
    expect(at16['ann_recall@10']).toBeLessThan(0.7 + 1e-9); // at most 7 of the exact 10
    const at32 = await evaluateCollection(deps, COL, dataset, { ef: 32, modes: ['dense'], recall: false });
    expect(at32['ann_recall@10']).toBeCloseTo(await independentAnnRecall(32), 12);
    expect(at32['ann_recall@10']).toBeGreaterThan(at16['ann_recall@10']!);
  });

  it('its searches never reach drift detection: no query event carries a query vector', async () => {
    const observed = observeQueries(fx.runtime.service);
    try {
      await evaluateCollection(fx.deps, COL, dataset);
      expect(observed.events.length).toBeGreaterThan(0);
      expect(observed.events.filter((e) => e.queryVector !== undefined)).toEqual([]);
      // (A text search does carry one, so the observation above could have seen them.)
      await fx.runtime.service.search(COL, { mode: 'dense', query: QUERIES[0]!.text, k: 3 });
      expect(observed.events.at(-1)!.queryVector).toBeInstanceOf(Float32Array);
    } finally {
      observed.stop();
    }
  });

  it('takes a dataset already read as well as its folder, and the live generation by default', async () => {
    const opts = { modes: ['dense', 'keyword'] as const, annRecall: false };
    const fromDir = await evaluateCollection(fx.deps, COL, dataset, opts);
    const fromRead = await evaluateCollection(fx.deps, COL, readEvalDataset(dataset), { ...opts, generation });
    expect(fromRead.modes).toEqual(fromDir.modes);
    expect(fromRead.generation).toBe(fromDir.generation);
  });

  it('refuses unknown collections, generations and modes, and out-of-range k and ef', async () => {
    const e = fx.deps;
    const err = await evaluateCollection(e, 'nope', dataset).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(CollectionNotFoundError);
    await invalid(evaluateCollection(e, COL, dataset, { generation: 9999 }), /collection 'c' has no generation 9999/);
    await invalid(evaluateCollection(e, COL, dataset, { modes: [] }), /no search mode to evaluate/);
    await invalid(evaluateCollection(e, COL, dataset, { modes: ['sparse' as 'dense'] }), /unknown mode 'sparse'; use dense, keyword, hybrid/);
    for (const k of [9, 10_001, 10.5, NaN]) await invalid(evaluateCollection(e, COL, dataset, { k }), /k must be an integer between 10 and 10000/);
    for (const ef of [0, 10_001, 1.5]) await invalid(evaluateCollection(e, COL, dataset, { ef }), /ef must be an integer between 1 and 10000/);
    await invalid(evaluateCollection(e, COL, fx.path('no-such-set')), /does not exist/);
  });

  it('a generation of another collection is refused', async () => {
    const other = await fx.collection('c-other');
    await invalid(evaluateCollection(fx.deps, COL, dataset, { generation: other }), /collection 'c' has no generation/);
  });
});

describe('missingJudgedDocuments', () => {
  it('counts the distinct judged ids the collection does not hold', () => {
    expect(missingJudgedDocuments(fx.deps, COL, readEvalDataset(dataset))).toBe(1);
    // More ids than one lookup takes (500): 40 held, 560 not, 'doc-00' judged twice.
    const ids = [...Array.from({ length: 40 }, (_, i) => `doc-${String(i).padStart(2, '0')}`), ...Array.from({ length: 560 }, (_, i) => `absent-${i}`)];
    const big = writeBeir(fx.path('big'), {
      queries: [
        { id: 'a', text: 'river' },
        { id: 'b', text: 'music' },
      ],
      qrels: [...ids.map((d, i) => [i % 2 === 0 ? 'a' : 'b', d, 1] as [string, string, number]), ['b', 'doc-00', 2]],
    });
    expect(missingJudgedDocuments(fx.deps, COL, readEvalDataset(big))).toBe(560);
  });

  it('refuses a set none of whose judged documents the collection holds, and evaluation refuses it too', async () => {
    const foreign = writeBeir(fx.path('foreign'), { queries: [{ id: 'x', text: 'river' }], qrels: [['x', 'other-1', 1], ['x', 'other-2', 2], ['x', 'doc-00', 0]] });
    const read = readEvalDataset(foreign);
    expect(() => missingJudgedDocuments(fx.deps, COL, read)).toThrow(InvalidInputError);
    expect(() => missingJudgedDocuments(fx.deps, COL, read)).toThrow(/none of the 2 document ids judged in .*foreign exist in collection 'c'/);
    await invalid(evaluateCollection(fx.deps, COL, foreign), /none of the 2 document ids judged/);
  });
});

describe('percentile', () => {
  it('is the nearest-rank percentile of an ascending list (0 for none)', () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile([], 50)).toBe(0);
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile(ten, 50)).toBe(5);
    expect(percentile(ten, 51)).toBe(6);
    expect(percentile(ten, 99)).toBe(10);
    expect(percentile(ten, 100)).toBe(10);
    expect(percentile(ten, 0)).toBe(1);
  });
});
