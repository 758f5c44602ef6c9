// Tests src/store/feedback.ts: user feedback rows (append all or nothing, page oldest first, count, delete, removal with the collection, migration).
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.ts';
import { SCHEMA_VERSION } from '../../../src/store/schema.ts';
import { DB_FILE, SqliteStore } from '../../../src/store/sqlite-store.ts';
import type { FeedbackWrite } from '../../../src/store/types.ts';
import { openTempStore, raw, removeTempStore, spec } from '../../helpers/store.ts';

/** The 0.1.0 data directory's database (tests/acceptance/datadir-compat.test.ts opens the whole directory). */
const FIXTURE_DB = resolve(import.meta.dirname, '..', '..', 'fixtures', 'datadir-0.1.0', 'data', DB_FILE);

const item = (query: string, relevant: string[], notRelevant: string[] = []): FeedbackWrite => ({ query, relevant, notRelevant });

describe('feedback', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(() => ({ dir, store } = openTempStore()));
  afterEach(() => removeTempStore(store, dir));
  const dataDir = () => join(dir, 'data');

  it('appends items in order with increasing ids and reads them back after a reopen', () => {
    const rows = store.feedback.addFeedback('c', [item('wing flutter', ['a', 'b'], ['c']), item('boundary layer', ['d'])]);
    expect(rows.map((r) => [r.collection, r.query, r.relevant, r.notRelevant])).toEqual([
      ['c', 'wing flutter', ['a', 'b'], ['c']],
      ['c', 'boundary layer', ['d'], []],
    ]);
    expect(rows[1]!.id).toBeGreaterThan(rows[0]!.id);
    expect(Number.isNaN(Date.parse(rows[0]!.createdAt))).toBe(false);
    store.close();
    store = SqliteStore.open(dataDir());
    expect(store.listFeedback('c')).toEqual(rows);
    expect(store.countFeedback('c')).toBe(2);
  });

  it('pages oldest first after an id, per collection', () => {
    const ids = store.addFeedback('c', ['q1', 'q2', 'q3', 'q4', 'q5'].map((q) => item(q, ['a']))).map((r) => r.id);
    store.addFeedback('other', [item('elsewhere', ['x'])]);
    expect(store.listFeedback('c', { limit: 2 }).map((r) => r.query)).toEqual(['q1', 'q2']);
    expect(store.listFeedback('c', { afterId: ids[1], limit: 2 }).map((r) => r.query)).toEqual(['q3', 'q4']);
    expect(store.listFeedback('c', { afterId: ids[3], limit: 2 }).map((r) => r.query)).toEqual(['q5']);
    expect(store.listFeedback('c', { afterId: ids[4] })).toEqual([]);
    expect(store.listFeedback('other').map((r) => r.query)).toEqual(['elsewhere']);
    expect(store.listFeedback('nope')).toEqual([]);
    expect(store.countFeedback('c')).toBe(5);
    expect(store.countFeedback('nope')).toBe(0);
    // Nonsense paging options fall back to the defaults rather than reaching SQL.
    expect(store.listFeedback('c', { afterId: Number.NaN, limit: Number.NaN })).toHaveLength(5);
  });

  it('refuses a malformed item and then writes none of the request', () => {
    const bad: FeedbackWrite[][] = [
      [item('ok', ['a']), item('   ', ['a'])],
      [item('ok', ['a']), item('no relevant', [])],
      [item('ok', ['a']), { query: 'bad ids', relevant: ['a', 7 as unknown as string], notRelevant: [] }],
      [item('ok', ['a']), { query: 'bad ids', relevant: ['a'], notRelevant: [''] }],
    ];
    for (const items of bad) expect(() => store.addFeedback('c', items), JSON.stringify(items)).toThrow(InvalidInputError);
    expect(() => store.addFeedback('', [item('ok', ['a'])])).toThrow(InvalidInputError);
    expect(store.countFeedback('c')).toBe(0);
    expect(store.addFeedback('c', [])).toEqual([]);
  });

  it('deletes a collection\'s feedback, and deleting the collection removes it too', () => {
    store.createCollection(spec('c'));
    store.createCollection(spec('keep'));
    store.addFeedback('c', [item('q1', ['a']), item('q2', ['b'])]);
    store.addFeedback('keep', [item('q', ['a'])]);
    expect(store.deleteFeedback('c')).toBe(2);
    expect(store.deleteFeedback('c')).toBe(0);
    const last = store.addFeedback('c', [item('q3', ['a'])])[0]!;
    expect(store.deleteCollection('c')).toBe(true);
    const db = raw(dataDir());
    expect((db.prepare(`SELECT count(*) AS n FROM feedback WHERE collection = 'c'`).get() as { n: number }).n).toBe(0);
    db.close();
    expect(store.countFeedback('keep')).toBe(1);
    // Ids never go backwards, so a cursor held across a delete stays meaningful.
    store.createCollection(spec('c'));
    expect(store.addFeedback('c', [item('q4', ['a'])])[0]!.id).toBeGreaterThan(last.id);
  });

  it('migrates a data directory of schema version 3 (Sextant 0.1.0) by adding the table, leaving its rows alone', () => {
    const old = join(dir, 'v3');
    mkdirSync(old);
    copyFileSync(FIXTURE_DB, join(old, DB_FILE));
    const before = raw(old);
    expect(before.pragma('user_version', { simple: true })).toBe(3);
    const collections = before.prepare('SELECT * FROM collections ORDER BY name').all();
    before.close();

    const migrated = SqliteStore.open(old);
    try {
      expect(migrated.listFeedback('papers')).toEqual([]);
      expect(migrated.addFeedback('papers', [item('q', ['doc-008'])])).toHaveLength(1);
      expect(migrated.countFeedback('papers')).toBe(1);
    } finally {
      migrated.close();
    }
    const after = raw(old);
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(after.prepare('SELECT * FROM collections ORDER BY name').all()).toEqual(collections);
    expect((after.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'feedback_by_collection'`).get() as { n: number }).n).toBe(1);
    after.close();
  });
});
