import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { datasetDir, readCorpus, readQrels, readQueries } from '../scripts/lib/beir.ts';
import { CollectionExistsError, CollectionNotFoundError, InvalidInputError, InvalidVectorError } from '../src/errors.ts';
import { DEFAULT_HNSW } from '../src/values/backend.ts';
import { mrrAt, ndcgAt, recallAt } from '../src/search/metrics.ts';
import type { StoreDatabase } from '../src/store/database.ts';
import { SCHEMA_VERSION } from '../src/store/schema.ts';
import { toFtsQuery } from '../src/store/keyword.ts';
import { DB_FILE, SqliteStore } from '../src/store/sqlite-store.ts';
import type { DocumentWrite, NewCollection } from '../src/store/types.ts';

const REPO = resolve(import.meta.dirname, '..');

function spec(name: string, dimensions = 4): NewCollection {
  return { name, modelTarget: 'default', model: 'use-lite@1', dimensions, backend: 'hnsw', hnsw: DEFAULT_HNSW, hybridAlpha: 0.5 };
}

function vec(...values: number[]): Float32Array {
  return Float32Array.from(values);
}

function doc(id: string, text: string, extra: Partial<DocumentWrite> = {}): DocumentWrite {
  return { id, text, contentHash: `h:${text}`, vectors: new Map(), ...extra };
}

function bits(v: Float32Array): number[] {
  return [...new Uint32Array(v.buffer, v.byteOffset, v.length)];
}

/** A raw connection for assertions the Store API does not expose. */
function raw(dir: string): Database.Database {
  return new Database(join(dir, DB_FILE));
}

/** The store's own connection (its pragmas), which only the database module holds. */
function connection(store: SqliteStore): Database.Database {
  return (store as unknown as { database: StoreDatabase }).database.handle;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('SqliteStore', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-store-'));
    store = SqliteStore.open(join(dir, 'data'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const dataDir = () => join(dir, 'data');

  describe('opening', () => {
    it('creates the database with WAL, synchronous=FULL, foreign keys and the current schema', () => {
      const db = connection(store);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(store.path).toBe(join(dataDir(), DB_FILE));
    });

    it('keeps data across close and reopen', () => {
      store.createCollection(spec('c'));
      const gen = store.getCollection('c')!.liveGeneration!;
      store.upsertDocuments('c', [doc('a', 'flutter of a wing', { vectors: new Map([[gen, vec(1, 2, 3, 4)]]) })]);
      store.close();
      store = SqliteStore.open(dataDir());
      expect(store.getDocument('c', 'a')?.text).toBe('flutter of a wing');
      expect(bits(store.getVectors(gen, ['a']).get('a')!)).toEqual(bits(vec(1, 2, 3, 4)));
      expect(store.keywordSearch('c', 'wing', 5).map((h) => h.id)).toEqual(['a']);
      expect(store.lastSeq()).toBe(1);
    });

    it('refuses a database written by a newer schema', () => {
      store.close();
      const db = raw(dataDir());
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
      expect(() => SqliteStore.open(dataDir())).toThrow(/newer/);
      const fix = raw(dataDir());
      fix.pragma(`user_version = ${SCHEMA_VERSION}`);
      fix.close();
      store = SqliteStore.open(dataDir());
    });
  });

  describe('collections and generations', () => {
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

  describe('documents', () => {
    let gen: number;
    beforeEach(() => {
      gen = store.createCollection(spec('c')).generation.id;
    });

    it('upserts idempotently: one row, created_at kept, content and keyword index replaced', async () => {
      store.upsertDocuments('c', [doc('a', 'the propeller slipstream', { title: 'first', metadata: { year: 1960 } })]);
      const first = store.getDocument('c', 'a')!;
      await sleep(5);
      store.upsertDocuments('c', [doc('a', 'boundary layer transition', { title: 'second', metadata: { year: 1961 } })]);
      const second = store.getDocument('c', 'a')!;
      expect(store.countDocuments('c')).toBe(1);
      expect(second).toMatchObject({ title: 'second', text: 'boundary layer transition', metadata: { year: 1961 } });
      expect(second.contentHash).toBe('h:boundary layer transition');
      expect(second.createdAt).toBe(first.createdAt);
      expect(second.updatedAt > first.updatedAt).toBe(true);
      expect(store.keywordSearch('c', 'slipstream', 5)).toEqual([]);
      expect(store.keywordSearch('c', 'first', 5)).toEqual([]);
      expect(store.keywordSearch('c', 'transition', 5).map((h) => h.id)).toEqual(['a']);
      expect(store.keywordSearch('c', 'second', 5).map((h) => h.id)).toEqual(['a']);
    });

    it('round-trips vectors per generation bit-exactly', () => {
      const other = store.createGeneration('c', { model: 'm@2', dimensions: 3, backend: 'hnsw' });
      // A view at a non-zero offset into a larger buffer, and awkward values.
      const backing = new Float32Array(16);
      const liveVec = backing.subarray(5, 9);
      liveVec.set([-0, 1.401298464324817e-45, 3.4028234663852886e38, -1 / 3]);
      const otherVec = vec(Math.PI, Math.E, -1e-30);
      store.upsertDocuments('c', [
        doc('a', 'alpha', { metadata: { tag: 'x' }, vectors: new Map([[gen, liveVec], [other.id, otherVec]]) }),
        doc('b', 'beta', { metadata: { tag: 'y' }, vectors: new Map([[gen, vec(1, 2, 3, 4)]]) }),
      ]);
      const got = store.getVectors(gen, ['a', 'b', 'missing']);
      expect([...got.keys()].sort()).toEqual(['a', 'b']);
      expect(bits(got.get('a')!)).toEqual(bits(liveVec));
      expect(got.get('a')!.byteOffset).toBe(0);
      expect(bits(store.getVectors(other.id, ['a']).get('a')!)).toEqual(bits(otherVec));
      expect(store.getVectors(other.id, ['b']).size).toBe(0);
      expect(store.countVectors(gen)).toBe(2);
      expect(store.countVectors(other.id)).toBe(1);

      const all = [...store.iterateVectors(gen)];
      expect(all.map((v) => v.id)).toEqual(['a', 'b']);
      expect(bits(all[0].vector)).toEqual(bits(liveVec));
      expect(all[1].metadata).toEqual({ tag: 'y' });

      const some = store.vectorsWithMetadata(gen, ['b', 'zzz', 'a', 'b']);
      expect(some.map((v) => v.id)).toEqual(['b', 'a']);
      expect(some[1].metadata).toEqual({ tag: 'x' });
      expect(bits(some[0].vector)).toEqual(bits(vec(1, 2, 3, 4)));
    });

    it('pages iterateVectors across many documents and tolerates writes between items', () => {
      const n = 2500;
      const docs = Array.from({ length: n }, (_, i) => doc(`d${String(i).padStart(5, '0')}`, `text ${i}`, { vectors: new Map([[gen, vec(i, 0, 0, 1)]]) }));
      store.upsertDocuments('c', docs);
      let seen = 0;
      for (const item of store.iterateVectors(gen)) {
        if (item.id !== 'zzz') expect(item.vector[0]).toBe(Number(item.id.slice(1)));
        // A write mid-iteration must not hit "connection is busy".
        if (seen === 1500) store.upsertDocuments('c', [doc('zzz', 'late', { vectors: new Map([[gen, vec(0, 0, 0, 1)]]) })]);
        seen++;
      }
      expect(seen).toBe(n + 1);
    });

    it('rejects bad vectors and leaves the batch unwritten', () => {
      const other = store.createCollection(spec('other')).generation.id;
      const good = doc('ok', 'fine', { vectors: new Map([[gen, vec(1, 2, 3, 4)]]) });
      expect(() => store.upsertDocuments('c', [good, doc('bad', 'x', { vectors: new Map([[gen, vec(1, 2)]]) })])).toThrow(InvalidVectorError);
      expect(() => store.upsertDocuments('c', [good, doc('bad', 'x', { vectors: new Map([[gen, vec(1, NaN, 3, 4)]]) })])).toThrow(
        InvalidVectorError,
      );
      const notFloat32 = new Map([[gen, [1, 2, 3, 4] as unknown as Float32Array]]);
      expect(() => store.upsertDocuments('c', [good, doc('bad', 'x', { vectors: notFloat32 })])).toThrow(InvalidVectorError);
      expect(() => store.upsertDocuments('c', [good, doc('bad', 'x', { vectors: new Map([[other, vec(1, 2, 3, 4)]]) })])).toThrow(
        InvalidInputError,
      );
      expect(() => store.upsertDocuments('c', [good, doc('', 'x')])).toThrow(InvalidInputError);
      expect(store.countDocuments('c')).toBe(0);
      expect(store.countVectors(gen)).toBe(0);
      expect(store.lastSeq()).toBe(0);
    });

    it('deletes documents with their vectors in every generation and their keyword rows', () => {
      const other = store.createGeneration('c', { model: 'm@2', dimensions: 2, backend: 'hnsw' });
      store.upsertDocuments('c', [
        doc('a', 'supersonic wing', { vectors: new Map([[gen, vec(1, 0, 0, 0)], [other.id, vec(1, 0)]]) }),
        doc('b', 'subsonic wing', { vectors: new Map([[gen, vec(0, 1, 0, 0)], [other.id, vec(0, 1)]]) }),
      ]);
      const { deleted, seq } = store.deleteDocuments('c', ['a', 'ghost', 'a']);
      expect(deleted).toEqual(['a']);
      expect(seq).toBe(store.lastSeq());
      expect(store.getDocument('c', 'a')).toBeUndefined();
      expect(store.getVectors(gen, ['a']).size).toBe(0);
      expect(store.getVectors(other.id, ['a']).size).toBe(0);
      expect(store.countVectors(gen)).toBe(1);
      expect(store.keywordSearch('c', 'supersonic', 5)).toEqual([]);
      expect(store.keywordSearch('c', 'wing', 5).map((h) => h.id)).toEqual(['b']);

      const noop = store.deleteDocuments('c', ['ghost']);
      expect(noop).toEqual({ deleted: [], seq });

      // The keyword index accepts the id again after deletion.
      store.upsertDocuments('c', [doc('a', 'supersonic again')]);
      expect(store.keywordSearch('c', 'supersonic', 5).map((h) => h.id)).toEqual(['a']);
    });

    it('reads large id lists in chunks', () => {
      const n = 1300;
      store.upsertDocuments(
        'c',
        Array.from({ length: n }, (_, i) => doc(`id-${i}`, `t${i}`, { vectors: new Map([[gen, vec(i, 1, 2, 3)]]) })),
      );
      const ids = [...Array.from({ length: n }, (_, i) => `id-${i}`), 'missing-1', 'missing-2', 'id-7'];
      expect(store.getDocuments('c', ids).size).toBe(n);
      expect(store.hitDocuments('c', ids, { text: false }).size).toBe(n);
      const hashes = store.contentHashes('c', ids);
      expect(hashes.size).toBe(n);
      expect(hashes.get('id-777')).toBe('h:t777');
      const vectors = store.getVectors(gen, ids);
      expect(vectors.size).toBe(n);
      expect(vectors.get('id-1299')![0]).toBe(1299);
      expect(store.vectorsWithMetadata(gen, ids)).toHaveLength(n);
    });

    it('reads what a search hit shows, with title and text only when asked', () => {
      store.upsertDocuments('c', [doc('a', 'supersonic wing', { title: 'Wings', metadata: { year: 1960 } }), doc('b', 'subsonic')]);
      const bare = store.hitDocuments('c', ['b', 'ghost', 'a'], { text: false });
      expect([...bare.keys()].sort()).toEqual(['a', 'b']);
      expect(bare.get('a')).toEqual({ metadata: { year: 1960 } });
      const full = store.hitDocuments('c', ['a', 'b'], { text: true });
      expect(full.get('a')).toEqual({ metadata: { year: 1960 }, title: 'Wings', text: 'supersonic wing' });
      expect(full.get('b')).toEqual({ metadata: {}, title: null, text: 'subsonic' });
    });

    it('pages documents in id order and filters by metadata', () => {
      store.upsertDocuments('c', [
        doc('b', 'x', { metadata: { lang: 'en', year: 2001 } }),
        doc('a', 'x', { metadata: { lang: 'de', year: 1999 } }),
        doc('d', 'x', { metadata: { lang: 'en', year: 1990, tags: ['physics', 'wings'] } }),
        doc('c', 'x'),
      ]);
      expect(store.documentsAfter('c', null, 2).map((d) => d.id)).toEqual(['a', 'b']);
      expect(store.documentsAfter('c', 'b', 10).map((d) => d.id)).toEqual(['c', 'd']);
      expect(store.documentsAfter('c', 'd', 10)).toEqual([]);
      expect(store.idsMatching('c', { lang: 'en' })).toEqual(['b', 'd']);
      expect(store.idsMatching('c', { year: { $lt: 2000 } })).toEqual(['a', 'd']);
      expect(store.idsMatching('c', { tags: 'wings' })).toEqual(['d']);
      expect(store.idsMatching('c', { $or: [{ lang: 'de' }, { year: { $gte: 2001 } }] })).toEqual(['a', 'b']);
      expect(store.idsMatching('c', {})).toEqual(['a', 'b', 'c', 'd']);
      expect(store.countDocuments('c')).toBe(4);
      expect(store.countDocuments('nope')).toBe(0);
    });
  });

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
  });

  describe('change log', () => {
    it('returns changes after a seq, latest per document, in seq order, per collection', () => {
      store.createCollection(spec('c'));
      store.createCollection(spec('other'));
      expect(store.lastSeq()).toBe(0);
      const s1 = store.upsertDocuments('c', [doc('a', '1'), doc('b', '1')]).seq; // seq 1 a, 2 b
      expect(s1).toBe(2);
      store.upsertDocuments('other', [doc('a', 'x')]); // 3
      store.upsertDocuments('c', [doc('a', '2')]); // 4
      store.deleteDocuments('c', ['b']); // 5
      store.upsertDocuments('c', [doc('c', '1')]); // 6
      store.upsertDocuments('c', [doc('b', 'back')]); // 7
      expect(store.lastSeq()).toBe(7);

      expect(store.changesSince('c', 0)).toEqual([
        { seq: 4, docId: 'a', op: 'upsert' },
        { seq: 6, docId: 'c', op: 'upsert' },
        { seq: 7, docId: 'b', op: 'upsert' },
      ]);
      expect(store.changesSince('c', 4)).toEqual([
        { seq: 6, docId: 'c', op: 'upsert' },
        { seq: 7, docId: 'b', op: 'upsert' },
      ]);
      expect(store.changesSince('c', 7)).toEqual([]);
      expect(store.changesSince('other', 0)).toEqual([{ seq: 3, docId: 'a', op: 'upsert' }]);

      store.deleteDocuments('c', ['c']); // 8
      expect(store.changesSince('c', 5)).toEqual([
        { seq: 7, docId: 'b', op: 'upsert' },
        { seq: 8, docId: 'c', op: 'delete' },
      ]);

      expect(store.pruneChanges('c', 6)).toBe(5); // seqs 1, 2, 4, 5, 6
      expect(store.changesSince('c', 0).map((c) => c.seq)).toEqual([7, 8]);
      expect(store.lastSeq()).toBe(8);
    });

    it('returns the last seq of a batch', () => {
      store.createCollection(spec('c'));
      expect(store.upsertDocuments('c', [doc('a', 'x'), doc('b', 'y'), doc('a', 'z')]).seq).toBe(3);
      expect(store.upsertDocuments('c', []).seq).toBe(3);
      expect(store.getDocument('c', 'a')!.text).toBe('z');
      expect(store.countDocuments('c')).toBe(1 + 1);
    });
  });

  describe('keyword search', () => {
    beforeEach(() => {
      store.createCollection(spec('a'));
      store.createCollection(spec('b'));
    });

    it('ranks stemmed matches: "wings" finds "wing"', () => {
      store.upsertDocuments('a', [
        doc('1', 'the wing of the aircraft was swept back', { title: 'Swept wing' }),
        doc('2', 'a study of boundary layers'),
        doc('3', 'heat transfer in nozzles'),
      ]);
      const hits = store.keywordSearch('a', 'Wings', 10);
      expect(hits.map((h) => h.id)).toEqual(['1']);
      expect(hits[0].score).toBeGreaterThan(0);
      // Title matches count, and diacritics are folded.
      expect(store.keywordSearch('a', 'swépt', 10).map((h) => h.id)).toEqual(['1']);
    });

    it('uses OR semantics and ranks documents matching more terms first', () => {
      store.upsertDocuments('a', [
        doc('both', 'supersonic flutter of panels'),
        doc('one', 'supersonic inlet design'),
        doc('other', 'flutter of bridges'),
        doc('none', 'heat transfer'),
      ]);
      const hits = store.keywordSearch('a', 'supersonic flutter', 10);
      expect(hits[0].id).toBe('both');
      expect(hits.map((h) => h.id).sort()).toEqual(['both', 'one', 'other']);
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
      expect(store.keywordSearch('a', 'supersonic flutter', 1)).toHaveLength(1);
    });

    it('keeps BM25 statistics per collection', () => {
      const target = [doc('t', 'laminar flow over a flat plate'), doc('u', 'turbulent jets'), doc('v', 'shock waves')];
      store.upsertDocuments('b', target);
      const before = store.keywordSearch('b', 'laminar plate', 5);
      // 'laminar' becomes very common in collection a; b's scores must not move.
      store.upsertDocuments('a', Array.from({ length: 200 }, (_, i) => doc(`x${i}`, `laminar laminar boundary layer number ${i}`)));
      const after = store.keywordSearch('b', 'laminar plate', 5);
      expect(after).toEqual(before);
      // Sanity: the same document in a now scores lower on the common term.
      store.upsertDocuments('a', [doc('t', 'laminar flow over a flat plate')]);
      const inA = store.keywordSearch('a', 'laminar', 500).find((h) => h.id === 't')!;
      const inB = store.keywordSearch('b', 'laminar', 5).find((h) => h.id === 't')!;
      expect(inA.score).toBeLessThan(inB.score);
    });

    it('never throws on FTS syntax in queries', () => {
      store.upsertDocuments('a', [doc('1', 'near the wing tip and the body'), doc('2', 'not a wing')]);
      const nasty = [
        '"',
        '""',
        '"wing',
        'wing AND body',
        'AND',
        'OR OR',
        'NOT wing',
        'wing*',
        '*',
        '-wing',
        'wing - body',
        '(wing',
        'wing)',
        '()',
        'NEAR(wing body)',
        'NEAR(',
        'title:wing',
        '{title text}: wing',
        '^wing',
        'wing + body',
        "it's",
        '\u0000',
        '\u0301',
        'wing \u0301 body',
        'ｗｉｎｇ',
        '   ',
        '',
        '🚀🚀',
        'a'.repeat(10000),
        Array.from({ length: 2000 }, (_, i) => `w${i}`).join(' '),
      ];
      for (const q of nasty) expect(() => store.keywordSearch('a', q, 5), q.slice(0, 40)).not.toThrow();
      expect(store.keywordSearch('a', '"wing', 5).length).toBe(2);
      expect(store.keywordSearch('a', 'NEAR(wing body)', 5)[0].id).toBe('1');
      expect(store.keywordSearch('a', '   ', 5)).toEqual([]);
      expect(store.keywordSearch('a', '()', 5)).toEqual([]);
      expect(toFtsQuery('wing AND "body" NEAR(x*')).toBe('"wing" OR "and" OR "body" OR "near" OR "x"');
      expect(toFtsQuery('-- ** ()')).toBeUndefined();
    });

    it('returns the true top-k among allowed ids', () => {
      // Scores fall with document length, so the order is known: d00 best ... d59 worst.
      const docs = Array.from({ length: 60 }, (_, i) => doc(`d${String(i).padStart(2, '0')}`, `wing ${'filler '.repeat(i)}`));
      store.upsertDocuments('a', docs);
      const full = store.keywordSearch('a', 'wing', 1000);
      expect(full).toHaveLength(60);
      const allowed = new Set(['d03', 'd17', 'd58', 'd41', 'd22', 'nope']);
      const expected = full.filter((h) => allowed.has(h.id)).slice(0, 3);
      const got = store.keywordSearch('a', 'wing', 3, allowed);
      expect(got).toEqual(expected);
      expect(got.map((h) => h.id)).toEqual(['d03', 'd17', 'd22']);
      // Allowed ids ranked far below the unrestricted top-k are still found.
      expect(store.keywordSearch('a', 'wing', 2, new Set(['d58', 'd59'])).map((h) => h.id)).toEqual(['d58', 'd59']);
      expect(store.keywordSearch('a', 'wing', 3, new Set())).toEqual([]);
    });
  });

  it('keeps every acknowledged write when the writer is killed with SIGKILL', async () => {
    const script = join(dir, 'writer.mjs');
    const storeUrl = pathToFileURL(join(REPO, 'src', 'store', 'sqlite-store.ts')).href;
    writeFileSync(
      script,
      `
      const { SqliteStore } = await import(${JSON.stringify(storeUrl)});
      const store = SqliteStore.open(process.argv[2]);
      const gen = store.createCollection({ name: 'c', modelTarget: 't', model: 'm@1', dimensions: 64,
        backend: 'hnsw', hnsw: { M: 16, efConstruction: 200, efSearch: 64 }, hybridAlpha: 0.5 }).generation.id;
      for (let batch = 0; ; batch++) {
        const docs = [];
        for (let j = 0; j < 10; j++) {
          const id = 'doc-' + batch + '-' + j;
          const v = new Float32Array(64).map(() => Math.random());
          docs.push({ id, text: 'text of ' + id + ' '.repeat(j * 50), contentHash: id, metadata: { batch }, vectors: new Map([[gen, v]]) });
        }
        store.upsertDocuments('c', docs);
        process.stdout.write(docs.map((d) => d.id).join('\\n') + '\\n');
      }
      `,
    );
    const crashDir = join(dir, 'crash');
    const child = spawn(process.execPath, ['--import', 'tsx/esm', script, crashDir], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const acknowledged: string[] = [];
    let stderr = '';
    let buffer = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close' waits for stdout to drain: lines read after the kill were printed after a commit too.
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('close', (_code, signal) => res(signal)));
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        acknowledged.push(...lines);
        if (acknowledged.length >= 400 && !child.killed) {
          child.kill('SIGKILL');
          res();
        }
      });
      child.on('exit', () => rej(new Error(`writer exited early: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');

    const db = raw(crashDir);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    const reopened = SqliteStore.open(crashDir);
    try {
      const present = reopened.getDocuments('c', acknowledged);
      const missing = acknowledged.filter((id) => !present.has(id));
      expect(missing).toEqual([]);
      const gen = reopened.getCollection('c')!.liveGeneration!;
      expect(reopened.getVectors(gen, acknowledged).size).toBe(acknowledged.length);
      // The keyword index is consistent with the documents that made it.
      const check = raw(crashDir);
      const key = (check.prepare(`SELECT key FROM collections WHERE name = 'c'`).get() as { key: number }).key;
      expect(() => check.prepare(`INSERT INTO fts_${key}(fts_${key}) VALUES ('integrity-check')`).run()).not.toThrow();
      check.close();
      expect(reopened.countDocuments('c')).toBeGreaterThanOrEqual(acknowledged.length);
      expect(reopened.countDocuments('c') % 10).toBe(0); // batches are all-or-nothing
      expect(reopened.keywordSearch('c', acknowledged[0], 1)[0]?.id).toBe(acknowledged[0]);
    } finally {
      reopened.close();
    }
  });

  it('measures write throughput (512-d vectors, batches of 100)', () => {
    const gen = store.createCollection(spec('bench', 512)).generation.id;
    const batches = 30;
    const words = 'wing flow boundary layer shock pressure heat transfer supersonic subsonic flutter panel nozzle jet'.split(' ');
    const make = (b: number) =>
      Array.from({ length: 100 }, (_, i) => {
        const v = new Float32Array(512);
        for (let d = 0; d < 512; d++) v[d] = Math.sin(b * 1000 + i * 7 + d);
        const text = Array.from({ length: 120 }, (_, w) => words[(b + i + w * 3) % words.length]).join(' ');
        return doc(`b${b}-${i}`, text, { metadata: { batch: b }, vectors: new Map([[gen, v]]) });
      });
    const prepared = Array.from({ length: batches }, (_, b) => make(b));
    const t0 = performance.now();
    for (const batch of prepared) store.upsertDocuments('bench', batch);
    const seconds = (performance.now() - t0) / 1000;
    const rate = (batches * 100) / seconds;
    console.log(`upsertDocuments: ${Math.round(rate)} docs/s (512-d, batches of 100, ${batches * 100} docs, ${(seconds * 1000 / batches).toFixed(1)} ms/batch)`);
    expect(store.countVectors(gen)).toBe(batches * 100);
    expect(rate).toBeGreaterThan(100);
  });
});

describe('ranking metrics', () => {
  const rel = new Map([
    ['a', 3],
    ['b', 2],
    ['c', 1],
  ]);
  it('computes nDCG@k with linear gains and log2 discount', () => {
    expect(ndcgAt(10, ['a', 'b', 'c'], rel)).toBeCloseTo(1, 12);
    const dcg = 1 / Math.log2(2) + 3 / Math.log2(3);
    const idcg = 3 + 2 / Math.log2(3);
    expect(ndcgAt(2, ['c', 'a', 'b'], rel)).toBeCloseTo(dcg / idcg, 12);
    expect(ndcgAt(10, ['x', 'y'], rel)).toBe(0);
    expect(ndcgAt(10, ['a'], new Map())).toBe(0);
    expect(ndcgAt(10, ['a', 'a', 'a'], rel)).toBeCloseTo(3 / (3 + 2 / Math.log2(3) + 1 / 2), 12);
  });
  it('computes MRR@k and recall@k', () => {
    expect(mrrAt(10, ['x', 'c', 'a'], rel)).toBe(0.5);
    expect(mrrAt(1, ['x', 'c'], rel)).toBe(0);
    expect(recallAt(2, ['a', 'x', 'b'], rel)).toBeCloseTo(1 / 3, 12);
    expect(recallAt(10, ['a', 'b', 'c', 'a'], rel)).toBe(1);
  });
});

describe.each([
  { name: 'cranfield', floor: 0.34, reference: 0.366 },
  { name: 'cisi', floor: 0.35, reference: 0.384 },
])('keyword-only retrieval quality on $name', ({ name, floor, reference }) => {
  const dir = datasetDir(name);
  if (!dir) console.log(`skipping ${name}: ../shared/datasets/${name} is absent`);
  it.skipIf(!dir)(`nDCG@10 >= ${floor} (reference BM25 ${reference})`, () => {
    const tmp = mkdtempSync(join(tmpdir(), `sextant-${name}-`));
    const store = SqliteStore.open(tmp);
    try {
      store.createCollection(spec(name));
      const corpus = readCorpus(dir!);
      for (let i = 0; i < corpus.length; i += 500) {
        store.upsertDocuments(
          name,
          corpus.slice(i, i + 500).map((d) => ({ id: d._id, title: d.title || null, text: d.text ?? '', contentHash: d._id, vectors: new Map() })),
        );
      }
      const qrels = readQrels(dir!);
      let ndcg = 0;
      let mrr = 0;
      let recall = 0;
      let n = 0;
      const t0 = performance.now();
      for (const q of readQueries(dir!)) {
        const relevance = qrels.get(q._id);
        if (!relevance) continue;
        const ranked = store.keywordSearch(name, q.text, 10).map((h) => h.id);
        ndcg += ndcgAt(10, ranked, relevance);
        mrr += mrrAt(10, ranked, relevance);
        recall += recallAt(10, ranked, relevance);
        n++;
      }
      const ms = (performance.now() - t0) / n;
      console.log(
        `${name}: keyword nDCG@10 ${(ndcg / n).toFixed(4)}, MRR@10 ${(mrr / n).toFixed(4)}, recall@10 ${(recall / n).toFixed(4)} ` +
          `over ${n} queries (${ms.toFixed(2)} ms/query; reference BM25 nDCG@10 ${reference})`,
      );
      expect(ndcg / n).toBeGreaterThanOrEqual(floor);
    } finally {
      store.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
