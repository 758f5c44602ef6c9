// Tests src/store/collections.ts: collections and their index generations (create, validate, update, promote, drop, delete).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollectionExistsError, CollectionNotFoundError, InvalidInputError } from '../../../src/errors.ts';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import { DB_FILE, SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { DocumentWrite, NewCollection } from '../../../src/store/types.ts';
import { doc, openTempStore, raw, removeTempStore, sleep, spec, vec } from '../../helpers/store.ts';

describe('collections and generations', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => ({ dir, store } = openTempStore()));
  afterEach(() => removeTempStore(store, dir));
  const dataDir = () => join(dir, 'data');

  it('creates a collection with a live first generation', () => {
    const { collection, generation } = store.createCollection(spec('docs', 8));
    expect(collection).toMatchObject({ name: 'docs', modelTarget: 'default', backend: 'hnsw', hnsw: DEFAULT_HNSW, hybridAlpha: 0.5 });
    expect(collection.liveGeneration).toBe(generation.id);
    expect(collection.settings).toEqual({});
    expect(generation).toMatchObject({ collection: 'docs', model: 'use-lite@1', dimensions: 8, state: 'live', retiredAt: null });
    expect(store.getCollection('docs')).toEqual(collection);
    expect(store.listCollections().map((c) => c.name)).toEqual(['docs']);
    expect(() => store.createCollection(spec('docs'))).toThrow(CollectionExistsError);
    expect(store.getCollection('nope')).toBeUndefined();
  });

  it('validates collection specs', () => {
    expect(() => store.createCollection({ ...spec('x'), name: '' })).toThrow(InvalidInputError);
    expect(() => store.createCollection({ ...spec('x'), dimensions: 0 })).toThrow(InvalidInputError);
    expect(() => store.createCollection({ ...spec('x'), hybridAlpha: 2 })).toThrow(InvalidInputError);
    expect(store.listCollections()).toEqual([]);
  });

  it('updates settings and refuses unknown collections', async () => {
    const { collection } = store.createCollection(spec('c'));
    await sleep(5);
    const updated = store.updateCollection('c', { hybridAlpha: 0.25, settings: { drift: { threshold: 0.1 } } });
    expect(updated).toMatchObject({ hybridAlpha: 0.25, settings: { drift: { threshold: 0.1 } }, modelTarget: 'default' });
    expect(updated.updatedAt > collection.updatedAt).toBe(true);
    expect(updated.createdAt).toBe(collection.createdAt);
    expect(() => store.updateCollection('nope', { hybridAlpha: 0.1 })).toThrow(CollectionNotFoundError);
    expect(() => store.upsertDocuments('nope', [doc('a', 'x')])).toThrow(CollectionNotFoundError);
    expect(() => store.keywordSearch('nope', 'x', 3)).toThrow(CollectionNotFoundError);
  });

  it('promotes a generation: new live, previous retired, in one step', () => {
    const { generation: first } = store.createCollection(spec('c'));
    const second = store.createGeneration('c', { model: 'bge-small@1', dimensions: 3, backend: 'hnsw' });
    expect(second.state).toBe('building');
    store.promoteGeneration('c', second.id);
    expect(store.getGeneration(second.id)).toMatchObject({ state: 'live', retiredAt: null });
    const retired = store.getGeneration(first.id)!;
    expect(retired.state).toBe('retired');
    expect(retired.retiredAt).not.toBeNull();
    expect(store.getCollection('c')!.liveGeneration).toBe(second.id);
    expect(store.listGenerations('c').map((g) => g.id)).toEqual([first.id, second.id]);

    // Rolling back to the retired generation works too.
    store.promoteGeneration('c', first.id);
    expect(store.getGeneration(first.id)).toMatchObject({ state: 'live', retiredAt: null });
    expect(store.getGeneration(second.id)!.state).toBe('retired');

    store.createCollection(spec('other'));
    const foreign = store.getCollection('other')!.liveGeneration!;
    expect(() => store.promoteGeneration('c', foreign)).toThrow(InvalidInputError);
    expect(() => store.promoteGeneration('c', 9999)).toThrow(InvalidInputError);
  });

  it('a closed store answers no lookup from its row caches', () => {
    const { generation } = store.createCollection(spec('c'));
    // Cached: each row read once, and a name that does not exist.
    expect(store.getCollection('c')).toMatchObject({ name: 'c' });
    expect(store.getGeneration(generation.id)).toMatchObject({ id: generation.id });
    expect(store.getCollection('nope')).toBeUndefined();
    store.close();
    // As every other read of a closed store does.
    expect(() => store.listCollections()).toThrow(/not open/);
    expect(() => store.getCollection('c')).toThrow(/not open/);
    expect(() => store.getCollection('nope')).toThrow(/not open/);
    expect(() => store.getGeneration(generation.id)).toThrow(/not open/);
    store.close(); // idempotent (afterEach closes again)
  });

  it('drops a generation with its vectors but never the live one', () => {
    const { generation: live } = store.createCollection(spec('c'));
    const next = store.createGeneration('c', { model: 'm@2', dimensions: 2, backend: 'hnsw' });
    store.upsertDocuments('c', [doc('a', 'x', { vectors: new Map([[live.id, vec(1, 0, 0, 0)], [next.id, vec(0, 1)]]) })]);
    expect(() => store.dropGeneration(live.id)).toThrow(InvalidInputError);
    store.dropGeneration(next.id);
    expect(store.getGeneration(next.id)).toBeUndefined();
    expect(store.countVectors(next.id)).toBe(0);
    expect(store.countVectors(live.id)).toBe(1);
    store.dropGeneration(next.id); // unknown: ignored
  });

  it('deletes a collection with every row and its keyword table', () => {
    const { generation } = store.createCollection(spec('c'));
    store.createCollection(spec('keep'));
    store.upsertDocuments('c', [doc('a', 'wing flutter', { vectors: new Map([[generation.id, vec(1, 2, 3, 4)]]) })]);
    store.upsertDocuments('keep', [doc('a', 'wing flutter')]);
    const seqBefore = store.lastSeq();
    expect(store.deleteCollection('c')).toBe(true);
    expect(store.deleteCollection('c')).toBe(false);

    const db = raw(dataDir());
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    expect(count(`SELECT count(*) AS n FROM documents WHERE collection = 'c'`)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM generations WHERE collection = 'c'`)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM vectors WHERE generation = ${generation.id}`)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM changes WHERE collection = 'c'`)).toBe(0);
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'`).all() as { name: string }[]).map(
      (t) => t.name,
    );
    expect(tables).toEqual(['fts_2']); // only 'keep' (key 2) remains
    db.close();

    // Seqs never go backwards, and the name can be reused with a fresh, empty keyword index.
    expect(store.lastSeq()).toBe(seqBefore);
    store.createCollection(spec('c'));
    expect(store.keywordSearch('c', 'wing', 5)).toEqual([]);
    expect(store.keywordSearch('keep', 'wing', 5).map((h) => h.id)).toEqual(['a']);
    expect(store.upsertDocuments('c', [doc('b', 'wing')]).seq).toBe(seqBefore + 1);
    expect(store.keywordSearch('c', 'wing', 5).map((h) => h.id)).toEqual(['b']);
  });
});
