// Tests src/lifecycle/eval/eval-set.ts: registerEvalSet / getEvalSet / clearEvalSet, the per-collection evaluation set kept in the collection's settings.
import { relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectionNotFoundError, InvalidInputError } from '../../../../src/errors.ts';
import { clearEvalSet, DEFAULT_GATE_MARGIN, getEvalSet, registerEvalSet } from '../../../../src/lifecycle/eval/eval-set.ts';
import { observeQueries, openEvalFixture, writeBeir, writeMainDataset, type EvalFixture } from '../../../helpers/eval-fixture.ts';

let fx: EvalFixture;
let dataset: string;
/** A well-formed BEIR folder none of whose judged documents the corpus holds. */
let foreign: string;
let n = 0;

beforeAll(async () => {
  fx = await openEvalFixture('eval-set');
  dataset = writeMainDataset(fx.path('main'));
  foreign = writeBeir(fx.path('foreign'), { queries: [{ id: 'x', text: 'river water' }], qrels: [['x', 'elsewhere-1', 1]] });
});
afterAll(async () => {
  await fx?.close();
});

/** A new collection holding the corpus, with another setting of its own. */
async function collection(): Promise<string> {
  const name = `c${++n}`;
  await fx.collection(name);
  await fx.runtime.service.updateCollection(name, { settings: { other: { keep: true } } });
  return name;
}
const settings = (name: string) => fx.runtime.service.context.store.getCollection(name)!.settings;

function invalid(fn: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(InvalidInputError);
  expect((thrown as Error).message).toMatch(message);
}

describe('evaluation sets', () => {
  it('register, get and clear round trip, keeping the collection’s other settings', async () => {
    const name = await collection();
    const before = fx.runtime.service.context.store.getCollection(name)!;
    expect(getEvalSet(fx.deps, name)).toBeUndefined();

    const set = registerEvalSet(fx.deps, name, dataset);
    expect(set).toEqual({ dataset, margin: DEFAULT_GATE_MARGIN, registered_at: expect.any(String) });
    expect(DEFAULT_GATE_MARGIN).toBe(0.01);
    expect(new Date(set.registered_at).toISOString()).toBe(set.registered_at);
    expect(getEvalSet(fx.deps, name)).toEqual(set);
    expect(settings(name)).toEqual({ other: { keep: true }, evalSet: set });
    const after = fx.runtime.service.context.store.getCollection(name)!;
    expect([after.hybridAlpha, after.hnsw, after.modelTarget, after.liveGeneration]).toEqual([before.hybridAlpha, before.hnsw, before.modelTarget, before.liveGeneration]);

    expect(clearEvalSet(fx.deps, name)).toBe(true);
    expect(getEvalSet(fx.deps, name)).toBeUndefined();
    expect(settings(name)).toEqual({ other: { keep: true } });
    expect(clearEvalSet(fx.deps, name)).toBe(false);
    expect(settings(name)).toEqual({ other: { keep: true } });
  });

  it('registering again replaces the set; a relative path is stored absolute; the margin bounds 0 and 1 are allowed', async () => {
    const name = await collection();
    registerEvalSet(fx.deps, name, dataset, 0.2);
    const again = registerEvalSet(fx.deps, name, relative(process.cwd(), dataset), 0);
    expect(again).toMatchObject({ dataset, margin: 0 });
    expect(getEvalSet(fx.deps, name)).toEqual(again);
    expect(registerEvalSet(fx.deps, name, dataset, 1).margin).toBe(1);
    expect(getEvalSet(fx.deps, name)!.margin).toBe(1);
    expect(settings(name).other).toEqual({ keep: true });
  });

  it('refuses a margin outside [0, 1] and stores nothing', async () => {
    const name = await collection();
    for (const margin of [-0.01, 1.01, NaN, Infinity, -Infinity, '0.1' as unknown as number]) {
      invalid(() => registerEvalSet(fx.deps, name, dataset, margin), /margin must be between 0 and 1/);
    }
    expect(getEvalSet(fx.deps, name)).toBeUndefined();
    expect(settings(name)).toEqual({ other: { keep: true } });
  });

  it('refuses a folder that is missing, not a BEIR folder, or does not match the collection, keeping the set it had', async () => {
    const name = await collection();
    const kept = registerEvalSet(fx.deps, name, dataset, 0.05);
    invalid(() => registerEvalSet(fx.deps, name, fx.path('no-such-set')), /dataset folder .*no-such-set does not exist/);
    invalid(() => registerEvalSet(fx.deps, name, fx.root), /has no queries\.jsonl/);
    invalid(() => registerEvalSet(fx.deps, name, foreign), new RegExp(`none of the 1 document ids judged in ${foreign} exist in collection '${name}'`));
    expect(getEvalSet(fx.deps, name)).toEqual(kept);
  });

  it('accepts a set some of whose judged documents the collection lacks', async () => {
    const name = await collection();
    // The main set judges 'ghost', which the corpus does not hold.
    expect(registerEvalSet(fx.deps, name, dataset).dataset).toBe(dataset);
  });

  it('registering reads the folder without searching', async () => {
    const name = await collection();
    const observed = observeQueries(fx.runtime.service);
    try {
      registerEvalSet(fx.deps, name, dataset);
      expect(observed.events).toEqual([]);
    } finally {
      observed.stop();
    }
  });

  it('getEvalSet ignores a stored value without a dataset path or a numeric margin; registered_at defaults to empty', async () => {
    const name = await collection();
    const store = fx.runtime.service.context.store;
    const put = (evalSet: unknown) => store.updateCollection(name, { settings: { ...settings(name), evalSet } });
    for (const bad of [null, 'x', { dataset: 5, margin: 0.1 }, { dataset: dataset }, { dataset, margin: '0.1' }]) {
      put(bad);
      expect(getEvalSet(fx.deps, name), JSON.stringify(bad)).toBeUndefined();
    }
    put({ dataset, margin: 0.3 });
    expect(getEvalSet(fx.deps, name)).toEqual({ dataset, margin: 0.3, registered_at: '' });
  });

  it('refuses an unknown collection', () => {
    expect(() => getEvalSet(fx.deps, 'nope')).toThrow(CollectionNotFoundError);
    expect(() => registerEvalSet(fx.deps, 'nope', dataset)).toThrow(CollectionNotFoundError);
    expect(() => clearEvalSet(fx.deps, 'nope')).toThrow(CollectionNotFoundError);
  });
});
