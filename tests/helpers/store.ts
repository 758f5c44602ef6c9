/** What the store's unit tests (tests/unit/store/) share: row builders and a fresh store per test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { StoreDatabase } from '../../src/store/database.ts';
import { DB_FILE, SqliteStore } from '../../src/store/sqlite-store.ts';
import type { DocumentWrite, NewCollection } from '../../src/store/types.ts';
import { DEFAULT_HNSW } from '../../src/values/backend.ts';

export function spec(name: string, dimensions = 4): NewCollection {
  return { name, modelTarget: 'default', model: 'use-lite@1', dimensions, backend: 'hnsw', hnsw: DEFAULT_HNSW, hybridAlpha: 0.5 };
}

export function vec(...values: number[]): Float32Array {
  return Float32Array.from(values);
}

export function doc(id: string, text: string, extra: Partial<DocumentWrite> = {}): DocumentWrite {
  return { id, text, contentHash: `h:${text}`, vectors: new Map(), ...extra };
}

/** A vector's exact bit patterns (so NaN payloads and -0 compare exactly). */
export function bits(v: Float32Array): number[] {
  return [...new Uint32Array(v.buffer, v.byteOffset, v.length)];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A raw connection to the store's database file, for assertions the Store API does not expose. */
export function raw(dir: string): Database.Database {
  return new Database(join(dir, DB_FILE));
}

/** The store's own connection (its pragmas), which only the database module holds. */
export function connection(store: SqliteStore): Database.Database {
  return (store as unknown as { database: StoreDatabase }).database.handle;
}

/** A store opened on `<dir>/data` in a new temporary directory; `removeTempStore` closes and deletes it. */
export function openTempStore(): { dir: string; store: SqliteStore } {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-store-'));
  return { dir, store: SqliteStore.open(join(dir, 'data')) };
}

export function removeTempStore(store: SqliteStore, dir: string): void {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
