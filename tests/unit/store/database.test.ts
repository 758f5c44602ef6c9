// Tests src/store/database.ts: opening sextant.db (WAL, durability pragmas, schema version), reopening, and refusing newer schemas.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import type { StoreDatabase } from '../../../src/store/database.ts';
import { SCHEMA_VERSION } from '../../../src/store/schema.ts';
import { DB_FILE, SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { DocumentWrite, NewCollection } from '../../../src/store/types.ts';
import { bits, connection, doc, openTempStore, raw, removeTempStore, spec, vec } from '../../helpers/store.ts';

describe('opening', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => ({ dir, store } = openTempStore()));
  afterEach(() => removeTempStore(store, dir));
  const dataDir = () => join(dir, 'data');

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
