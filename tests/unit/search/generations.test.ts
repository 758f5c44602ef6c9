/**
 * src/search/generations.ts: the change log is pruned behind each durable snapshot, and an index
 * without a usable snapshot (none, or one older than the pruned log) is rebuilt from the stored
 * vectors, answering as before. Real runtime, SQLite file and index files on disk.
 */
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { generationDir } from '../../../src/index/factory.ts';
import { openRuntime, type Runtime } from '../../../src/runtime.ts';
import { mulberry32 } from '../../../src/util/random.ts';
import { tempDir } from '../../helpers/server.ts';

const DIMS = 512;

function unit(random: () => number): number[] {
  const v = Array.from({ length: DIMS }, () => random() - 0.5);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

describe('generation indexes: change-log pruning and rebuild from stored vectors', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('keeps the log to the writes after the last snapshot, and rebuilds a lost or outdated index to the same answers', async () => {
    const dir = await tempDir('sextant-generations-');
    cleanups.push(dir.remove);
    const dataDir = join(dir.path, 'data');
    // Snapshots only when asked (close), so the test decides when the log may be pruned.
    const config = loadConfig({ dataDir, modelsDir: inject('modelsDir'), snapshotChanges: 1_000_000, snapshotSeconds: 3600, policyReviewSeconds: 0 });
    const random = mulberry32(5);
    const open = (): Promise<Runtime> => openRuntime(config, { startJobs: false });
    const queries = Array.from({ length: 20 }, () => unit(random));
    const answers = async (rt: Runtime): Promise<string[][]> =>
      Promise.all(queries.map(async (vector) => (await rt.service.search('c', { mode: 'dense', vector, k: 10 })).results.map((h) => h.id)));

    let rt = await open();
    await rt.service.createCollection({ name: 'c' });
    const generation = rt.service.info('c').generation;
    const upsert = (from: number, to: number) =>
      rt.service.upsertDocuments(
        'c',
        Array.from({ length: to - from }, (_, i) => ({ id: `d${from + i}`, text: `document ${from + i}`, vector: unit(random) })),
      );
    await upsert(0, 300);
    const store = () => rt.service.context.store;
    expect(store().countChanges('c')).toBe(300);
    await rt.close();

    rt = await open();
    // The closing snapshot held every change: the log is empty, its horizon at the last seq.
    expect(store().countChanges('c')).toBe(0);
    const horizon = store().prunedThrough('c');
    expect(horizon).toBe(store().lastSeq());
    await upsert(300, 400);
    await rt.service.deleteDocuments('c', ['d1', 'd2', 'd3']);
    expect(store().countChanges('c')).toBe(103);
    const before = await answers(rt);
    await rt.close();

    // An old copy of the index, from before the writes above.
    const indexDir = generationDir(dataDir, 'c', generation);
    const oldCopy = join(dir.path, 'old-index');
    rt = await open();
    expect(store().countChanges('c')).toBe(0);
    expect(await answers(rt)).toEqual(before);
    await rt.close();
    await cp(indexDir, oldCopy, { recursive: true });
    rt = await open();
    await upsert(400, 450);
    await rt.service.deleteDocuments('c', ['d10']);
    const afterChurn = await answers(rt);
    await rt.close();

    // (1) The index files are lost: rebuilt from the stored vectors.
    await rm(indexDir, { recursive: true });
    rt = await open();
    expect(await rt.service.context.indexes.get(rt.service.context.store.getCollection('c')!, rt.service.context.store.getGeneration(generation)!).then((i) => i.count())).toBe(446);
    expect(await answers(rt)).toEqual(afterChurn);
    await rt.close();

    // (2) An outdated snapshot (its changes pruned since): rebuilt too, not replayed into a wrong state.
    await rm(indexDir, { recursive: true });
    await cp(oldCopy, indexDir, { recursive: true });
    rt = await open();
    const index = await rt.service.context.indexes.get(store().getCollection('c')!, store().getGeneration(generation)!);
    expect(await index.count()).toBe(446);
    expect(rt.service.context.store.getDocument('c', 'd10')).toBeUndefined();
    const hits = await answers(rt);
    expect(hits).toEqual(afterChurn);
    expect(hits.flat()).not.toContain('d10');
    await rt.close();
  }, 120_000);
});
