// Tests src/store/drift.ts: drift references (per collection and kind) and the history of evaluated drift windows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidVectorError } from '../../../src/errors.ts';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import type { StoreDatabase } from '../../../src/store/database.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { DriftKindRow, NewCollection } from '../../../src/store/types.ts';
import { bits, connection, openTempStore, removeTempStore, spec, vec } from '../../helpers/store.ts';

describe('drift', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => ({ dir, store } = openTempStore()));
  afterEach(() => removeTempStore(store, dir));
  const dataDir = () => join(dir, 'data');

  describe('drift history', () => {
    it('keeps the newest rows, survives a reopen, and leaves document writes fully synced', () => {
      store.createCollection(spec('c'));
      for (let i = 1; i <= 4; i++) store.appendDriftHistory({ collection: 'c', kind: 'queries', state: 'ok', metrics: { window: i } }, 3);
      // History rows are committed without their own fsync; the connection must go back to FULL.
      const db = connection(store);
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      store.close();
      store = SqliteStore.open(dataDir());
      expect(store.listDriftHistory('c').map((r) => r.metrics)).toEqual([{ window: 4 }, { window: 3 }, { window: 2 }]);
    });

    it('trims per collection and kind, and lists one kind or a limited number, newest first', () => {
      const first = store.appendDriftHistory({ collection: 'c', kind: 'documents', state: 'ok', metrics: { n: 1 } }, 2);
      expect(first).toMatchObject({ collection: 'c', kind: 'documents', state: 'ok', metrics: { n: 1 } });
      expect(Number.isInteger(first.id)).toBe(true);
      expect(Number.isNaN(Date.parse(first.createdAt))).toBe(false);
      for (let i = 2; i <= 4; i++) store.appendDriftHistory({ collection: 'c', kind: 'documents', state: 'ok', metrics: { n: i } }, 2);
      for (let i = 1; i <= 3; i++) store.appendDriftHistory({ collection: 'c', kind: 'queries', state: 'drifting', metrics: { q: i } }, 5);
      store.appendDriftHistory({ collection: 'other', kind: 'documents', state: 'ok', metrics: { o: 1 } }, 1);

      // Trimming 'documents' to 2 left the 'queries' rows and the other collection alone.
      expect(store.listDriftHistory('c', { kind: 'documents' }).map((r) => r.metrics)).toEqual([{ n: 4 }, { n: 3 }]);
      expect(store.listDriftHistory('c', { kind: 'queries' }).map((r) => r.metrics)).toEqual([{ q: 3 }, { q: 2 }, { q: 1 }]);
      expect(store.listDriftHistory('other').map((r) => r.metrics)).toEqual([{ o: 1 }]);
      const all = store.listDriftHistory('c');
      expect(all.map((r) => r.kind)).toEqual(['queries', 'queries', 'queries', 'documents', 'documents']);
      expect(all[0]).toMatchObject({ collection: 'c', state: 'drifting' });
      expect(store.listDriftHistory('c', { limit: 2 }).map((r) => r.metrics)).toEqual([{ q: 3 }, { q: 2 }]);
      expect(store.listDriftHistory('nope')).toEqual([]);
    });
  });

  describe('drift references', () => {
    it('stores a reference bit-exactly with its scores, replaces it, and deletes it', () => {
      const vectors = [vec(-0, 1.401298464324817e-45, 3.4028234663852886e38), vec(Math.PI, Math.E, -1 / 3)];
      const put = store.putDriftReference({ collection: 'c', kind: 'documents', generation: 7, vectors, scores: { top1: [0.5, 0.75] } });
      expect(put).toMatchObject({ collection: 'c', kind: 'documents', generation: 7, dimensions: 3, scores: { top1: [0.5, 0.75] } });
      expect(put.vectors.map(bits)).toEqual(vectors.map(bits));

      store.close();
      store = SqliteStore.open(dataDir());
      const got = store.getDriftReference('c', 'documents')!;
      expect(got.vectors.map(bits)).toEqual(vectors.map(bits));
      expect(got.createdAt).toBe(put.createdAt);
      expect(store.getDriftReference('c', 'queries')).toBeUndefined();

      // A second put replaces the reference, even with other dimensions and no scores.
      const replaced = store.putDriftReference({ collection: 'c', kind: 'documents', generation: 8, vectors: [vec(1, 2), vec(3, 4), vec(5, 6)], scores: null });
      expect(replaced).toMatchObject({ generation: 8, dimensions: 2, scores: null });
      expect(store.getDriftReference('c', 'documents')!.vectors.map((v) => [...v])).toEqual([[1, 2], [3, 4], [5, 6]]);

      store.putDriftReference({ collection: 'c', kind: 'queries', generation: null, vectors: [vec(1)], scores: null });
      store.deleteDriftReference('c', 'documents');
      expect(store.getDriftReference('c', 'documents')).toBeUndefined();
      expect(store.getDriftReference('c', 'queries')?.generation).toBeNull();
      store.deleteDriftReference('c', 'documents'); // absent: ignored
    });

    it('refuses bad references and keeps the previous one', () => {
      store.putDriftReference({ collection: 'c', kind: 'queries', generation: 1, vectors: [vec(1, 2)], scores: null });
      const put = (kind: string, vectors: Float32Array[]) =>
        store.putDriftReference({ collection: 'c', kind: kind as DriftKindRow, generation: 2, vectors, scores: null });
      expect(() => put('searches', [vec(1, 2)])).toThrow(InvalidInputError);
      expect(() => put('queries', [])).toThrow(InvalidInputError);
      expect(() => put('queries', [vec(1, 2), vec(1, 2, 3)])).toThrow(InvalidVectorError);
      expect(() => put('queries', [vec(1, 2), vec(Infinity, 0)])).toThrow(InvalidVectorError);
      expect(() => put('queries', [[1, 2] as unknown as Float32Array])).toThrow(InvalidVectorError);
      const kept = store.getDriftReference('c', 'queries')!;
      expect(kept.generation).toBe(1);
      expect(kept.vectors.map((v) => [...v])).toEqual([[1, 2]]);
    });

    it('goes with its collection when the collection is deleted', () => {
      store.createCollection(spec('c'));
      store.createCollection(spec('keep'));
      for (const collection of ['c', 'keep']) {
        store.putDriftReference({ collection, kind: 'documents', generation: null, vectors: [vec(1, 0, 0, 0)], scores: null });
        store.appendDriftHistory({ collection, kind: 'documents', state: 'ok', metrics: {} }, 10);
      }
      store.deleteCollection('c');
      expect(store.getDriftReference('c', 'documents')).toBeUndefined();
      expect(store.listDriftHistory('c')).toEqual([]);
      expect(store.getDriftReference('keep', 'documents')).toBeDefined();
      expect(store.listDriftHistory('keep')).toHaveLength(1);
    });
  });
});
