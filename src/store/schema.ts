/**
 * Schema of `sextant.db`, versioned with `PRAGMA user_version`: migration i brings the database
 * from version i to i + 1, each in its own transaction, so an interrupted upgrade leaves the
 * previous version intact and the next open resumes it.
 */
import type Database from 'better-sqlite3';
import { ConfigError } from '../errors.ts';

type Migration = (db: Database.Database) => void;

const MIGRATIONS: readonly Migration[] = [
  (db) => {
    db.exec(`
      -- key names the collection's FTS table; AUTOINCREMENT so a dropped collection's key is
      -- never reissued (and VACUUM cannot renumber it, unlike an implicit rowid).
      CREATE TABLE collections (
        key             INTEGER PRIMARY KEY AUTOINCREMENT,
        name            TEXT NOT NULL UNIQUE,
        model_target    TEXT NOT NULL,
        backend         TEXT NOT NULL CHECK (backend IN ('hnsw', 'pinecone')),
        hnsw            TEXT NOT NULL,
        hybrid_alpha    REAL NOT NULL,
        live_generation INTEGER,
        settings        TEXT NOT NULL DEFAULT '{}',
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
      );

      CREATE TABLE generations (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        collection TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
        model      TEXT NOT NULL,
        dimensions INTEGER NOT NULL CHECK (dimensions > 0),
        backend    TEXT NOT NULL CHECK (backend IN ('hnsw', 'pinecone')),
        state      TEXT NOT NULL CHECK (state IN ('building', 'live', 'retired')),
        created_at TEXT NOT NULL,
        retired_at TEXT
      );
      CREATE INDEX generations_by_collection ON generations(collection);
      -- At most one live generation per collection, whatever a caller does.
      CREATE UNIQUE INDEX generations_one_live ON generations(collection) WHERE state = 'live';

      -- doc_key is the rowid the collection's FTS table is keyed by; upserts keep it stable.
      CREATE TABLE documents (
        doc_key      INTEGER PRIMARY KEY,
        collection   TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
        id           TEXT NOT NULL,
        title        TEXT,
        text         TEXT NOT NULL,
        metadata     TEXT NOT NULL DEFAULT '{}',
        content_hash TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        UNIQUE (collection, id)
      );

      -- Not WITHOUT ROWID: vector blobs (2 KiB at 512-d) are too large for clustered rows.
      CREATE TABLE vectors (
        generation INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
        doc_id     TEXT NOT NULL,
        vector     BLOB NOT NULL,
        PRIMARY KEY (generation, doc_id)
      );

      -- AUTOINCREMENT: seqs never go backwards, even after a collection's changes are removed,
      -- so a snapshot's recorded seq stays meaningful.
      CREATE TABLE changes (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        collection TEXT NOT NULL,
        doc_id     TEXT NOT NULL,
        op         TEXT NOT NULL CHECK (op IN ('upsert', 'delete'))
      );
      CREATE INDEX changes_by_collection ON changes(collection, seq);
    `);
  },
  (db) => {
    db.exec(`
      -- Re-embedding jobs. No foreign key to collections: a job's record outlives its collection.
      CREATE TABLE jobs (
        id                  TEXT PRIMARY KEY,
        kind                TEXT NOT NULL CHECK (kind IN ('reembed')),
        collection          TEXT NOT NULL,
        state               TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        model               TEXT NOT NULL,
        generation          INTEGER,
        previous_generation INTEGER,
        done                INTEGER NOT NULL DEFAULT 0,
        total               INTEGER NOT NULL DEFAULT 0,
        cursor              TEXT,
        reason              TEXT NOT NULL DEFAULT 'manual',
        error               TEXT,
        created_at          TEXT NOT NULL,
        started_at          TEXT,
        finished_at         TEXT,
        updated_at          TEXT NOT NULL
      );
      CREATE INDEX jobs_by_collection ON jobs(collection, created_at);

      -- Drift references: a sample of embeddings per collection and kind ('documents', 'queries').
      CREATE TABLE drift_references (
        collection TEXT NOT NULL,
        kind       TEXT NOT NULL CHECK (kind IN ('documents', 'queries')),
        generation INTEGER,
        dimensions INTEGER NOT NULL,
        count      INTEGER NOT NULL,
        vectors    BLOB NOT NULL,
        scores     TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (collection, kind)
      );

      -- One row per evaluated drift window.
      CREATE TABLE drift_history (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        collection TEXT NOT NULL,
        kind       TEXT NOT NULL,
        state      TEXT NOT NULL,
        metrics    TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX drift_history_by_collection ON drift_history(collection, id);
    `);
  },
  (db) => {
    db.exec(`
      -- NULL: the change touches every generation (document writes); a number: only that
      -- generation (a re-embedding batch), so replay does not re-insert other generations' vectors.
      ALTER TABLE changes ADD COLUMN generation INTEGER;
    `);
  },
  (db) => {
    db.exec(`
      -- User feedback on search results, kept for training: one row per (query, judged ids).
      -- No foreign key, as drift rows: deleteCollection removes a collection's rows explicitly.
      -- AUTOINCREMENT: ids never go backwards, so a listing cursor (the last id seen) stays valid.
      CREATE TABLE feedback (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        collection   TEXT NOT NULL,
        query        TEXT NOT NULL,
        relevant     TEXT NOT NULL,              -- JSON array of document ids
        not_relevant TEXT NOT NULL DEFAULT '[]', -- JSON array of document ids
        created_at   TEXT NOT NULL
      );
      CREATE INDEX feedback_by_collection ON feedback(collection, id);
    `);
  },
  (db) => {
    // Training jobs share the jobs table: kind 'train', with the job's parameters and result as
    // JSON. SQLite cannot alter a CHECK, so the table is rebuilt (rows copied, index recreated)
    // inside this migration's transaction.
    db.exec(`
      CREATE TABLE jobs_v5 (
        id                  TEXT PRIMARY KEY,
        kind                TEXT NOT NULL CHECK (kind IN ('reembed', 'train')),
        collection          TEXT NOT NULL,
        state               TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        model               TEXT NOT NULL,
        generation          INTEGER,
        previous_generation INTEGER,
        done                INTEGER NOT NULL DEFAULT 0,
        total               INTEGER NOT NULL DEFAULT 0,
        cursor              TEXT,
        reason              TEXT NOT NULL DEFAULT 'manual',
        error               TEXT,
        created_at          TEXT NOT NULL,
        started_at          TEXT,
        finished_at         TEXT,
        updated_at          TEXT NOT NULL,
        params              TEXT,  -- JSON: what the job was asked (training jobs)
        result              TEXT   -- JSON: what it produced (training jobs)
      );
      INSERT INTO jobs_v5 (id, kind, collection, state, model, generation, previous_generation, done, total, cursor, reason, error, created_at, started_at, finished_at, updated_at)
        SELECT id, kind, collection, state, model, generation, previous_generation, done, total, cursor, reason, error, created_at, started_at, finished_at, updated_at FROM jobs;
      DROP TABLE jobs;
      ALTER TABLE jobs_v5 RENAME TO jobs;
      CREATE INDEX jobs_by_collection ON jobs(collection, created_at);
    `);
  },
  (db) => {
    db.exec(`
      -- Change-log pruning (change-log.ts). The seq each local generation's durable index
      -- snapshot holds (0: none yet); a collection's log is pruned through the lowest of its
      -- generations', and how far it was pruned is kept so that an index whose snapshot is older
      -- (restored, damaged, removed) is rebuilt from the stored vectors instead of replayed.
      CREATE TABLE index_snapshots (
        generation  INTEGER PRIMARY KEY REFERENCES generations(id) ON DELETE CASCADE,
        applied_seq INTEGER NOT NULL
      );
      CREATE TABLE change_log_horizon (
        collection     TEXT PRIMARY KEY,
        pruned_through INTEGER NOT NULL
      );
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Per-collection keyword index; contentless (documents hold the text) with row deletes. */
export function ftsTableName(collectionKey: number): string {
  if (!Number.isSafeInteger(collectionKey) || collectionKey <= 0) throw new Error(`bad collection key ${collectionKey}`);
  return `fts_${collectionKey}`;
}

export function createFtsTableSql(collectionKey: number): string {
  return (
    `CREATE VIRTUAL TABLE ${ftsTableName(collectionKey)} USING fts5(title, text, content='', contentless_delete=1, ` +
    `tokenize='porter unicode61 remove_diacritics 2')`
  );
}

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new ConfigError(
      `database schema version ${current} is newer than this Sextant supports (${SCHEMA_VERSION}); upgrade Sextant`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      MIGRATIONS[version](db);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
