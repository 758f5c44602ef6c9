/**
 * The one SQLite connection every repository shares: opening `sextant.db` in WAL mode with the
 * durability pragmas, schema migration (schema.ts), the prepared-statement cache, the write
 * transaction helpers and close. Separate from the repositories because it is what they have in
 * common: a document upsert writes the documents, vectors, changes and FTS tables in one
 * transaction, which works only because all of them run on this connection inside `write()`.
 *
 * With WAL + synchronous=FULL a returned `write()` has been fsynced: it survives kill -9 and power
 * loss.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './schema.ts';

export const DB_FILE = 'sextant.db';

/** Statements whose text depends on the request (metadata filters) are cached this many at most. */
const DYNAMIC_STATEMENTS = 64;

function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot fsync a directory; SQLite's own syncs still hold.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export class StoreDatabase {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly dynamicStatements = new Map<string, Database.Statement>();
  private readonly writeListeners: (() => void)[] = [];
  private closed = false;

  private constructor(
    /** The raw connection; repositories go through stmt()/write() instead. */
    readonly handle: Database.Database,
    /** Path of the database file. */
    readonly path: string,
  ) {}

  static open(dataDir: string): StoreDatabase {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, DB_FILE);
    const created = !existsSync(path);
    const db = new Database(path, { timeout: 5000 });
    try {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`could not switch ${path} to WAL (journal_mode = ${String(mode)})`);
      // FULL in WAL mode fsyncs the log on every commit: an acknowledged write survives power loss.
      db.pragma('synchronous = FULL');
      // macOS only: plain fsync there does not flush the drive's cache.
      db.pragma('fullfsync = ON');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      // Keeps the WAL file from staying at its high-water mark after a bulk load.
      db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    // The new database file's directory entry must itself be durable.
    if (created) fsyncDirectory(dataDir);
    return new StoreDatabase(db, path);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.dynamicStatements.clear();
    // Row caches too: a closed store must fail its reads, not answer them from memory.
    this.notifyWrite();
    try {
      this.handle.pragma('optimize');
    } finally {
      this.handle.close();
    }
  }

  /** A cached prepared statement; for SQL whose text takes a bounded number of shapes. */
  stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.handle.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * A prepared statement from a small LRU cache, for SQL whose text a request shapes (a metadata
   * filter's structure), so an unbounded variety of requests cannot grow the cache without bound.
   */
  dynamicStmt(sql: string): Database.Statement {
    let statement = this.dynamicStatements.get(sql);
    if (statement) {
      this.dynamicStatements.delete(sql);
    } else {
      statement = this.handle.prepare(sql);
      if (this.dynamicStatements.size >= DYNAMIC_STATEMENTS) {
        this.dynamicStatements.delete(this.dynamicStatements.keys().next().value!);
      }
    }
    this.dynamicStatements.set(sql, statement);
    return statement;
  }

  /** Runs SQL without parameters (DDL: per-collection FTS tables). */
  exec(sql: string): void {
    this.handle.exec(sql);
  }

  /** Drops cached statements whose SQL mentions `fragment` (a dropped table's name). */
  forgetStatements(fragment: string): void {
    for (const sql of this.statements.keys()) if (sql.includes(fragment)) this.statements.delete(sql);
    for (const sql of this.dynamicStatements.keys()) if (sql.includes(fragment)) this.dynamicStatements.delete(sql);
  }

  /**
   * Registers a cache invalidation run before and after every `write()` (committed or not), and on
   * `close()`: row caches stay valid because this process is the data dir's only writer and writes
   * only here, and a closed store has nothing to answer from them.
   */
  onWrite(listener: () => void): void {
    this.writeListeners.push(listener);
  }

  /**
   * A consistent copy of the database at `destination` through SQLite's online backup API; the
   * connection keeps serving meanwhile (its own writes are carried into the copy).
   */
  async backup(destination: string): Promise<void> {
    await this.handle.backup(destination);
  }

  /** IMMEDIATE: takes the write lock up front, so a transaction never fails half way on upgrade. */
  write<T>(fn: () => T): T {
    this.notifyWrite();
    try {
      return this.handle.transaction(fn).immediate();
    } finally {
      this.notifyWrite();
    }
  }

  /**
   * A commit without an fsync of its own, for observations (drift history) that touch no
   * collection, document or generation. The row is in the WAL before this returns, so it survives
   * kill -9; the next durable commit or checkpoint syncs it, so only a power loss in between can
   * lose it. An fsync per drift window blocked the event loop 2.5 ms at p50 and up to 17 ms under
   * load (a window fills every ~25 queries).
   */
  writeObservation<T>(fn: () => T): T {
    this.handle.pragma('synchronous = NORMAL');
    try {
      return this.handle.transaction(fn).immediate();
    } finally {
      this.handle.pragma('synchronous = FULL');
    }
  }

  private notifyWrite(): void {
    for (const listener of this.writeListeners) listener();
  }
}
