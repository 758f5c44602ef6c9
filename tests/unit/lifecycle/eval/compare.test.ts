// Tests src/lifecycle/eval/compare.ts: resolveGenerationRef and evaluateWithCompare, on a collection re-embedded from one tiny BERT to another by runtime.lifecycle.jobs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectionNotFoundError, InvalidInputError, ModelNotFoundError } from '../../../../src/errors.ts';
import { evaluateWithCompare, resolveGenerationRef } from '../../../../src/lifecycle/eval/compare.ts';
import type { EvalDeps } from '../../../../src/lifecycle/eval/deps.ts';
import { evaluateCollection, EVAL_MODES } from '../../../../src/lifecycle/eval/run.ts';
import type { CollectionRow, GenerationRow, GenerationState } from '../../../../src/store/types.ts';
import { MODEL_A, MODEL_B, observeQueries, openEvalFixture, QUERIES, serviceFigures, writeMainDataset, type EvalFixture } from '../../../helpers/eval-fixture.ts';

const COL = 'c';
let fx: EvalFixture;
/** Generation 1 of COL (MODEL_A, retired by the job) and the job's generation (MODEL_B, live). */
let genA: number;
let genB: number;
let dataset: string;

beforeAll(async () => {
  fx = await openEvalFixture('compare');
  genA = await fx.collection(COL);
  const job = await fx.reembed(COL, MODEL_B);
  expect(job.state, job.error ?? '').toBe('succeeded');
  genB = job.generation!;
  expect(fx.runtime.service.context.store.listGenerations(COL).map((g) => [g.id, g.model, g.state])).toEqual([
    [genA, MODEL_A, 'retired'],
    [genB, MODEL_B, 'live'],
  ]);
  dataset = writeMainDataset(fx.path('main'));
});
afterAll(async () => {
  await fx?.close();
});

const row = (): CollectionRow => fx.runtime.service.context.store.getCollection(COL)!;

async function invalid(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInputError);
  expect((err as Error).message).toMatch(message);
}

/** Fake deps holding `generations` of collection 'f' (models resolve by name to `<name>@1`). */
function fakeDeps(generations: readonly [number, string, GenerationState][]): { deps: EvalDeps; collection: CollectionRow } {
  const rows: GenerationRow[] = generations.map(([id, model, state]) => ({
    id,
    collection: 'f',
    model,
    dimensions: 2,
    backend: 'hnsw',
    state,
    createdAt: '2024-01-01T00:00:00.000Z',
    retiredAt: state === 'retired' ? '2024-01-02T00:00:00.000Z' : null,
  }));
  const collection = { name: 'f', liveGeneration: rows.find((g) => g.state === 'live')?.id ?? null } as CollectionRow;
  const deps = {
    store: {
      getCollection: (name: string) => (name === 'f' ? collection : undefined),
      getGeneration: (id: number) => rows.find((g) => g.id === id),
      listGenerations: () => rows,
    },
    engines: {
      resolve: async (ref: string) => {
        if (ref.includes('@') || ref === 'unknown') throw new ModelNotFoundError(`model '${ref}' not found`);
        return { id: `${ref}@1` };
      },
    },
  } as unknown as EvalDeps;
  return { deps, collection };
}

describe('resolveGenerationRef', () => {
  it('takes a generation id, as a number or a string of digits', async () => {
    expect((await resolveGenerationRef(fx.deps, row(), genA)).id).toBe(genA);
    expect((await resolveGenerationRef(fx.deps, row(), String(genA))).id).toBe(genA);
    expect((await resolveGenerationRef(fx.deps, row(), ` ${genB} `)).id).toBe(genB);
  });

  it('takes a model as name@version or as a name the models dir resolves, live or retired', async () => {
    expect(await resolveGenerationRef(fx.deps, row(), MODEL_A)).toMatchObject({ id: genA, model: MODEL_A, state: 'retired' });
    expect(await resolveGenerationRef(fx.deps, row(), 'tiny-a')).toMatchObject({ id: genA, model: MODEL_A });
    expect(await resolveGenerationRef(fx.deps, row(), ` ${MODEL_B} `)).toMatchObject({ id: genB, state: 'live' });
    expect(await resolveGenerationRef(fx.deps, row(), 'tiny-b')).toMatchObject({ id: genB });
  });

  it('refuses an id that is not a generation of the collection, and a model none of its generations uses, listing them', async () => {
    await invalid(resolveGenerationRef(fx.deps, row(), 9999), /collection 'c' has no generation 9999/);
    const other = await fx.collection('c-other');
    await invalid(resolveGenerationRef(fx.deps, row(), other), /collection 'c' has no generation/);
    const listing = new RegExp(`no generation for 'nope@1'; its generations: ${genA} \\(tiny-a@1, retired\\), ${genB} \\(tiny-b@1, live\\)`);
    await invalid(resolveGenerationRef(fx.deps, row(), 'nope@1'), listing);
    await invalid(resolveGenerationRef(fx.deps, row(), 'nope'), /no generation for 'nope'/);
  });

  it('of several generations on the model, prefers the live one, then one being built, then the newest retired', async () => {
    const ref = async (gens: [number, string, GenerationState][], r: string) => {
      const { deps, collection } = fakeDeps(gens);
      return (await resolveGenerationRef(deps, collection, r)).id;
    };
    expect(await ref([[1, 'm@1', 'retired'], [2, 'm@1', 'live'], [3, 'm@1', 'building'], [4, 'm@1', 'retired']], 'm@1')).toBe(2);
    expect(await ref([[1, 'm@1', 'retired'], [2, 'x@1', 'live'], [3, 'm@1', 'building'], [4, 'm@1', 'retired']], 'm@1')).toBe(3);
    expect(await ref([[1, 'm@1', 'retired'], [2, 'x@1', 'live'], [4, 'm@1', 'retired'], [3, 'm@1', 'retired']], 'm@1')).toBe(4);
    // By name: what the engines resolve it to.
    expect(await ref([[1, 'm@1', 'retired'], [2, 'x@1', 'live']], 'm')).toBe(1);
    await invalid(ref([[1, 'm@1', 'live']], 'unknown'), /no generation for 'unknown'; its generations: 1 \(m@1, live\)/);
  });
});

describe('evaluateWithCompare', () => {
  it('without compare is the evaluation of the live generation alone', async () => {
    const opts = { modes: ['keyword', 'dense'] as const, annRecall: false };
    const report = await evaluateWithCompare(fx.deps, COL, dataset, opts);
    expect(report.compare).toBeUndefined();
    expect(report.generation).toBe(genB);
    expect(report.modes).toEqual((await evaluateCollection(fx.deps, COL, dataset, opts)).modes);
  });

  it('compared with a generation by id: both columns are the service’s text searches on their own generation', async () => {
    const report = await evaluateWithCompare(fx.deps, COL, dataset, { compare: genA, k: 20 });
    expect(report).toMatchObject({ generation: genB, model: MODEL_B });
    expect(report.compare).toMatchObject({ generation: genA, model: MODEL_A });
    const other = report.compare!.result;
    expect(other).toMatchObject({ generation: genA, model: MODEL_A, k: 20, queries: QUERIES.length, missing_judged_documents: 1 });
    for (const mode of EVAL_MODES) {
      const live = await serviceFigures(fx.runtime.service, COL, QUERIES, { mode, k: 20 });
      const old = await serviceFigures(fx.runtime.service, COL, QUERIES, { mode, k: 20, generation: genA });
      expect(report.modes[mode]!['ndcg@10'], mode).toBeCloseTo(live['ndcg@10'], 12);
      expect(report.modes[mode]!['recall@20'], mode).toBeCloseTo(live.recall, 12);
      expect(other.modes[mode]!['ndcg@10'], mode).toBeCloseTo(old['ndcg@10'], 12);
      expect(other.modes[mode]!['mrr@10'], mode).toBeCloseTo(old['mrr@10'], 12);
      expect(other.modes[mode]!['recall@20'], mode).toBeCloseTo(old.recall, 12);
    }
    // BM25 does not depend on the generation; the two models rank differently.
    expect(other.modes.keyword).toEqual(report.modes.keyword);
    expect(other.modes.dense!['ndcg@10']).not.toBe(report.modes.dense!['ndcg@10']);
    expect(other['ann_recall@10']).not.toBeNull();
  });

  it('compared by model (name@version or name) gives the same figures as by generation id', async () => {
    const opts = { modes: ['dense', 'hybrid'] as const, annRecall: false, recall: false };
    const byId = await evaluateWithCompare(fx.deps, COL, dataset, { ...opts, compare: genA });
    for (const ref of [MODEL_A, 'tiny-a', String(genA)]) {
      const byRef = await evaluateWithCompare(fx.deps, COL, dataset, { ...opts, compare: ref });
      expect(byRef.compare!.generation, ref).toBe(genA);
      expect(byRef.compare!.result.modes, ref).toEqual(byId.compare!.result.modes);
      expect(byRef.modes, ref).toEqual(byId.modes);
    }
  });

  it('evaluates a retired generation against the live one', async () => {
    const report = await evaluateWithCompare(fx.deps, COL, dataset, { generation: genA, compare: MODEL_B, modes: ['dense'], recall: false, annRecall: false });
    expect(report).toMatchObject({ generation: genA, model: MODEL_A, compare: { generation: genB, model: MODEL_B } });
    const old = await serviceFigures(fx.runtime.service, COL, QUERIES, { mode: 'dense', k: 10, generation: genA });
    expect(report.modes.dense!['ndcg@10']).toBeCloseTo(old['ndcg@10'], 12);
  });

  it('refuses a compare that names the generation being evaluated, and an unknown one', async () => {
    await invalid(evaluateWithCompare(fx.deps, COL, dataset, { compare: genB }), new RegExp(`--compare names generation ${genB}, the one being evaluated`));
    await invalid(evaluateWithCompare(fx.deps, COL, dataset, { compare: MODEL_B }), /the one being evaluated/);
    await invalid(evaluateWithCompare(fx.deps, COL, dataset, { generation: genA, compare: 'tiny-a' }), new RegExp(`names generation ${genA}`));
    await invalid(evaluateWithCompare(fx.deps, COL, dataset, { compare: 'nope@1' }), /no generation for 'nope@1'/);
    await invalid(evaluateWithCompare(fx.deps, COL, fx.path('no-such-set'), { compare: genA }), /does not exist/);
    await expect(evaluateWithCompare(fx.deps, 'nope', dataset, { compare: genA })).rejects.toBeInstanceOf(CollectionNotFoundError);
  });

  it('neither evaluation feeds drift detection', async () => {
    const observed = observeQueries(fx.runtime.service);
    try {
      await evaluateWithCompare(fx.deps, COL, dataset, { compare: genA });
      expect(observed.events.length).toBeGreaterThan(0);
      expect(new Set(observed.events.map((e) => e.generation))).toEqual(new Set([genA, genB]));
      expect(observed.events.filter((e) => e.queryVector !== undefined)).toEqual([]);
    } finally {
      observed.stop();
    }
  });
});
