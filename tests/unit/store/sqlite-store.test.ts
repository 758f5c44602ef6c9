// Tests src/store/sqlite-store.ts: the store as a whole, its repositories over one shared connection, and close.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import { DB_FILE, SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { NewCollection } from '../../../src/store/types.ts';
import { openTempStore, removeTempStore, spec } from '../../helpers/store.ts';

describe('SqliteStore', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => ({ dir, store } = openTempStore()));
  afterEach(() => removeTempStore(store, dir));

  it('exposes its repositories over one connection: what one writes, the others and the Store methods read', () => {
    expect(store.path).toBe(join(dir, 'data', DB_FILE));
    const gen = store.collections.createCollection(spec('c')).generation.id;
    expect(store.getCollection('c')?.liveGeneration).toBe(gen);
    const { seq } = store.documents.upsertDocuments('c', [
      { id: 'a', text: 'swept wing', contentHash: 'h', vectors: new Map([[gen, Float32Array.from([1, 2, 3, 4])]]) },
    ]);
    expect(seq).toBe(1);
    expect(store.getDocument('c', 'a')?.text).toBe('swept wing');
    expect(store.keyword.keywordSearch('c', 'wing', 5).map((h) => h.id)).toEqual(['a']);
    expect(store.changes.lastSeq()).toBe(1);
    expect(store.changesSince('c', 0)).toEqual([{ seq: 1, docId: 'a', op: 'upsert' }]);
    expect([...store.getVectors(gen, ['a']).get('a')!]).toEqual([1, 2, 3, 4]);

    store.jobs.createJob({ id: 'j', collection: 'c', model: 'm@2', reason: 'manual', total: 1 });
    expect(store.getJob('j')?.state).toBe('queued');
    store.drift.putDriftReference({ collection: 'c', kind: 'queries', generation: gen, vectors: [Float32Array.from([1])], scores: null });
    expect(store.getDriftReference('c', 'queries')?.generation).toBe(gen);
  });

  it('closes once: a second close is harmless and later reads fail', () => {
    store.createCollection(spec('c'));
    store.close();
    expect(() => store.close()).not.toThrow();
    expect(() => store.countDocuments('c')).toThrow();
    store = SqliteStore.open(join(dir, 'data'));
    expect(store.countDocuments('c')).toBe(0);
  });
});
