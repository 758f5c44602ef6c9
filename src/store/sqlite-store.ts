/**
 * The SQLite store: collections, documents, vectors per index generation, the change log that
 * replays writes into an HNSW snapshot after a crash, and BM25 keyword search (one FTS5 table per
 * collection, so document frequencies and average lengths are that collection's own).
 *
 * Every write method is one transaction, and with WAL + synchronous=FULL a returned call has been
 * fsynced: it survives kill -9 and power loss.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CollectionExistsError, CollectionNotFoundError, InvalidInputError, InvalidVectorError } from '../errors.ts';
import { matchesFilter } from '../values/filter.ts';
import type { Filter, Metadata } from '../values/filter.ts';
import type { BackendKind, HnswSettings } from '../values/backend.ts';
import { createFtsTableSql, ftsTableName, migrate } from './schema.ts';
import type {
  Change,
  CollectionRow,
  DocumentRow,
  HitDocument,
  DocumentWrite,
  DriftHistoryRow,
  DriftKindRow,
  DriftReferenceRow,
  GenerationRow,
  GenerationState,
  JobPatch,
  JobRow,
  JobState,
  KeywordHit,
  NewCollection,
  Store,
} from './types.ts';

export const DB_FILE = 'sextant.db';

/** Ids per `IN (...)` list; lists are padded to a power of two so few statements get cached. */
const ID_CHUNK = 512;
/** Rows per page of `iterateVectors`. */
const VECTOR_PAGE = 1024;
/**
 * BM25 column weights (title, text). Measured on Cranfield and CISI: a heavier title did not
 * help (Cranfield abstracts already repeat the title), so both count once.
 */
const TITLE_WEIGHT = 1;
const TEXT_WEIGHT = 1;
/** Bounds the cost of pasting a whole document in as a query. */
const MAX_QUERY_TERMS = 256;

const BACKENDS: readonly BackendKind[] = ['hnsw', 'pinecone'];
const LITTLE_ENDIAN = endianness() === 'LE';

interface CollectionRecord {
  key: number;
  name: string;
  model_target: string;
  backend: BackendKind;
  hnsw: string;
  hybrid_alpha: number;
  live_generation: number | null;
  settings: string;
  created_at: string;
  updated_at: string;
}

interface GenerationRecord {
  id: number;
  collection: string;
  model: string;
  dimensions: number;
  backend: BackendKind;
  state: GenerationState;
  created_at: string;
  retired_at: string | null;
}

interface DocumentRecord {
  id: string;
  title: string | null;
  text: string;
  metadata: string;
  content_hash: string;
  created_at: string;
  updated_at: string;
}

interface VectorRecord {
  doc_id: string;
  vector: Buffer;
}

interface VectorMetadataRecord extends VectorRecord {
  metadata: string;
}

const DOCUMENT_COLUMNS = 'id, title, text, metadata, content_hash, created_at, updated_at';

/**
 * Free text to a safe FTS5 query: word tokens only (so quotes, AND, NEAR(, *, -, parentheses
 * are plain words or gone), each quoted, joined with OR — FTS5's implicit AND would drop every
 * document missing one word of a natural-language query. Undefined when no word is left.
 */
export function toFtsQuery(text: string): string | undefined {
  // Marks are kept inside the token so FTS5 re-tokenizes it exactly as it did the document.
  const tokens = text.normalize('NFC').toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu);
  if (!tokens) return undefined;
  return tokens
    .slice(0, MAX_QUERY_TERMS)
    .map((t) => `"${t}"`)
    .join(' OR ');
}

/** Little-endian float32 bytes; better-sqlite3 copies the bytes when it binds them. */
export function encodeVector(vector: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  const out = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) out.writeFloatLE(vector[i], i * 4);
  return out;
}

/** A fresh, aligned copy: the blob's Buffer may sit at any byte offset of a shared allocation. */
export function decodeVector(blob: Uint8Array): Float32Array {
  if (blob.byteLength % 4 !== 0) throw new Error(`corrupt vector blob of ${blob.byteLength} bytes`);
  const out = new Float32Array(blob.byteLength / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(blob);
  } else {
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

function nowIso(): string {
  return new Date().toISOString();
}

function parseJsonObject(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toCollectionRow(r: CollectionRecord): CollectionRow {
  return {
    name: r.name,
    modelTarget: r.model_target,
    backend: r.backend,
    hnsw: JSON.parse(r.hnsw) as HnswSettings,
    hybridAlpha: r.hybrid_alpha,
    liveGeneration: r.live_generation,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    settings: parseJsonObject(r.settings),
  };
}

function toGenerationRow(r: GenerationRecord): GenerationRow {
  return {
    id: r.id,
    collection: r.collection,
    model: r.model,
    dimensions: r.dimensions,
    backend: r.backend,
    state: r.state,
    createdAt: r.created_at,
    retiredAt: r.retired_at,
  };
}

function toDocumentRow(r: DocumentRecord): DocumentRow {
  return {
    id: r.id,
    title: r.title,
    text: r.text,
    metadata: parseJsonObject(r.metadata),
    contentHash: r.content_hash,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function requireName(name: unknown, what: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidInputError(`${what} must be a non-empty string`);
}

function validateHnsw(hnsw: HnswSettings): void {
  for (const key of ['M', 'efConstruction', 'efSearch'] as const) {
    const v = hnsw?.[key];
    if (!Number.isInteger(v) || v <= 0) throw new InvalidInputError(`hnsw.${key} must be a positive integer`);
  }
}

function validateAlpha(alpha: number): void {
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1)) throw new InvalidInputError('hybridAlpha must be between 0 and 1');
}

function validateGenerationSpec(spec: { model: string; dimensions: number; backend: BackendKind }): void {
  requireName(spec.model, 'model');
  if (!Number.isInteger(spec.dimensions) || spec.dimensions <= 0) throw new InvalidInputError('dimensions must be a positive integer');
  if (!BACKENDS.includes(spec.backend)) throw new InvalidInputError(`backend must be one of ${BACKENDS.join(', ')}`);
}

function validateVector(vector: unknown, dimensions: number, where: string): asserts vector is Float32Array {
  if (!(vector instanceof Float32Array)) throw new InvalidVectorError(`${where}: vector must be a Float32Array`);
  if (vector.length !== dimensions) {
    throw new InvalidVectorError(`${where}: vector has ${vector.length} dimensions, the generation has ${dimensions}`);
  }
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i])) throw new InvalidVectorError(`${where}: vector holds NaN or Infinity at ${i}`);
  }
}

function validateDocument(doc: DocumentWrite, generations: ReadonlyMap<number, number>, collection: string): void {
  requireName(doc?.id, 'document id');
  const where = `document '${doc.id}'`;
  if (typeof doc.text !== 'string') throw new InvalidInputError(`${where}: text must be a string`);
  if (doc.title !== undefined && doc.title !== null && typeof doc.title !== 'string') {
    throw new InvalidInputError(`${where}: title must be a string or null`);
  }
  if (doc.metadata !== undefined && !isPlainObject(doc.metadata)) throw new InvalidInputError(`${where}: metadata must be an object`);
  if (typeof doc.contentHash !== 'string') throw new InvalidInputError(`${where}: contentHash must be a string`);
  if (!(doc.vectors instanceof Map)) throw new InvalidInputError(`${where}: vectors must be a Map of generation id to vector`);
  for (const [generation, vector] of doc.vectors) {
    const dimensions = generations.get(generation);
    if (dimensions === undefined) throw new InvalidInputError(`${where}: generation ${generation} is not a generation of '${collection}'`);
    validateVector(vector, dimensions, where);
  }
}

/** Deduplicated ids in chunks of at most ID_CHUNK, each padded (repeating its last id) to a power of two. */
function idChunks(ids: readonly string[]): string[][] {
  const unique = [...new Set(ids)];
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += ID_CHUNK) {
    const chunk = unique.slice(i, i + ID_CHUNK);
    let size = 1;
    while (size < chunk.length) size *= 2;
    while (chunk.length < size) chunk.push(chunk[chunk.length - 1]);
    chunks.push(chunk);
  }
  return chunks;
}

function placeholders(n: number): string {
  return new Array<string>(n).fill('?').join(',');
}

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

interface JobRecord {
  id: string;
  kind: 'reembed';
  collection: string;
  state: JobState;
  model: string;
  generation: number | null;
  previous_generation: number | null;
  done: number;
  total: number;
  cursor: string | null;
  reason: string;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

function toJobRow(r: JobRecord): JobRow {
  return {
    id: r.id,
    kind: r.kind,
    collection: r.collection,
    state: r.state,
    model: r.model,
    generation: r.generation,
    previousGeneration: r.previous_generation,
    done: r.done,
    total: r.total,
    cursor: r.cursor,
    reason: r.reason,
    error: r.error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
  };
}

export class SqliteStore implements Store {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly collectionCache = new Map<string, CollectionRow | undefined>();
  private readonly generationCache = new Map<number, GenerationRow | undefined>();
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    /** Path of the database file. */
    readonly path: string,
  ) {}

  static open(dataDir: string): SqliteStore {
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
    return new SqliteStore(db, path);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    try {
      this.db.pragma('optimize');
    } finally {
      this.db.close();
    }
  }

  // ---- collections ----

  createCollection(spec: NewCollection): { collection: CollectionRow; generation: GenerationRow } {
    requireName(spec.name, 'collection name');
    requireName(spec.modelTarget, 'modelTarget');
    validateGenerationSpec(spec);
    validateHnsw(spec.hnsw);
    validateAlpha(spec.hybridAlpha);
    return this.write(() => {
      if (this.collectionRecord(spec.name)) throw new CollectionExistsError(`collection '${spec.name}' already exists`, { collection: spec.name });
      const now = nowIso();
      const { lastInsertRowid } = this.stmt(
        `INSERT INTO collections (name, model_target, backend, hnsw, hybrid_alpha, live_generation, settings, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, NULL, '{}', ?, ?)`,
      ).run(spec.name, spec.modelTarget, spec.backend, JSON.stringify(spec.hnsw), spec.hybridAlpha, now, now);
      const generationId = this.insertGeneration(spec.name, spec, 'live', now);
      this.stmt('UPDATE collections SET live_generation = ? WHERE name = ?').run(generationId, spec.name);
      this.db.exec(createFtsTableSql(Number(lastInsertRowid)));
      return { collection: this.getCollection(spec.name)!, generation: this.getGeneration(generationId)! };
    });
  }

  getCollection(name: string): CollectionRow | undefined {
    // Every search reads its collection and generation rows; they change only through write()
    // (this process holds the data dir), which clears the cache.
    if (this.collectionCache.has(name)) return this.collectionCache.get(name);
    const record = this.collectionRecord(name);
    const row = record && toCollectionRow(record);
    this.collectionCache.set(name, row);
    return row;
  }

  listCollections(): CollectionRow[] {
    return (this.stmt('SELECT * FROM collections ORDER BY name').all() as CollectionRecord[]).map(toCollectionRow);
  }

  updateCollection(
    name: string,
    patch: Partial<Pick<CollectionRow, 'modelTarget' | 'hnsw' | 'hybridAlpha' | 'settings'>>,
  ): CollectionRow {
    if (patch.modelTarget !== undefined) requireName(patch.modelTarget, 'modelTarget');
    if (patch.hnsw !== undefined) validateHnsw(patch.hnsw);
    if (patch.hybridAlpha !== undefined) validateAlpha(patch.hybridAlpha);
    if (patch.settings !== undefined && !isPlainObject(patch.settings)) throw new InvalidInputError('settings must be an object');
    return this.write(() => {
      const current = this.requireCollection(name);
      this.stmt(
        `UPDATE collections SET model_target = ?, hnsw = ?, hybrid_alpha = ?, settings = ?, updated_at = ? WHERE name = ?`,
      ).run(
        patch.modelTarget ?? current.model_target,
        patch.hnsw !== undefined ? JSON.stringify(patch.hnsw) : current.hnsw,
        patch.hybridAlpha ?? current.hybrid_alpha,
        patch.settings !== undefined ? JSON.stringify(patch.settings) : current.settings,
        nowIso(),
        name,
      );
      return this.getCollection(name)!;
    });
  }

  deleteCollection(name: string): boolean {
    const table = this.write(() => {
      const record = this.collectionRecord(name);
      if (!record) return undefined;
      // Explicit deletes rather than relying on cascades: clearer, and vectors go by index range.
      this.stmt('DELETE FROM changes WHERE collection = ?').run(name);
      this.stmt('DELETE FROM vectors WHERE generation IN (SELECT id FROM generations WHERE collection = ?)').run(name);
      this.stmt('DELETE FROM documents WHERE collection = ?').run(name);
      this.stmt('DELETE FROM generations WHERE collection = ?').run(name);
      this.stmt('DELETE FROM collections WHERE name = ?').run(name);
      this.stmt('DELETE FROM drift_references WHERE collection = ?').run(name);
      this.stmt('DELETE FROM drift_history WHERE collection = ?').run(name);
      const fts = ftsTableName(record.key);
      this.db.exec(`DROP TABLE IF EXISTS ${fts}`);
      return fts;
    });
    if (table === undefined) return false;
    for (const sql of this.statements.keys()) if (sql.includes(table)) this.statements.delete(sql);
    return true;
  }

  // ---- generations ----

  createGeneration(collection: string, spec: { model: string; dimensions: number; backend: BackendKind }): GenerationRow {
    validateGenerationSpec(spec);
    return this.write(() => {
      this.requireCollection(collection);
      return this.getGeneration(this.insertGeneration(collection, spec, 'building', nowIso()))!;
    });
  }

  getGeneration(id: number): GenerationRow | undefined {
    if (this.generationCache.has(id)) return this.generationCache.get(id);
    const record = this.stmt('SELECT * FROM generations WHERE id = ?').get(id) as GenerationRecord | undefined;
    const row = record && toGenerationRow(record);
    this.generationCache.set(id, row);
    return row;
  }

  listGenerations(collection: string): GenerationRow[] {
    return (this.stmt('SELECT * FROM generations WHERE collection = ? ORDER BY id').all(collection) as GenerationRecord[]).map(
      toGenerationRow,
    );
  }

  /** A retired generation may be promoted again (rollback); its retired_at is cleared. */
  promoteGeneration(collection: string, id: number): void {
    this.write(() => {
      this.requireCollection(collection);
      const generation = this.getGeneration(id);
      if (!generation || generation.collection !== collection) {
        throw new InvalidInputError(`generation ${id} is not a generation of collection '${collection}'`, { collection, generation: id });
      }
      if (generation.state === 'live') return;
      const now = nowIso();
      // Retire first: the partial unique index allows one live generation at any moment.
      this.stmt(`UPDATE generations SET state = 'retired', retired_at = ? WHERE collection = ? AND state = 'live'`).run(now, collection);
      this.stmt(`UPDATE generations SET state = 'live', retired_at = NULL WHERE id = ?`).run(id);
      this.stmt('UPDATE collections SET live_generation = ?, updated_at = ? WHERE name = ?').run(id, now, collection);
    });
  }

  /** Unknown ids are ignored; the live generation cannot be dropped (promote another first). */
  dropGeneration(id: number): void {
    this.write(() => {
      const generation = this.getGeneration(id);
      if (!generation) return;
      if (generation.state === 'live') {
        throw new InvalidInputError(`generation ${id} is live for collection '${generation.collection}'; promote another generation first`);
      }
      this.stmt('DELETE FROM vectors WHERE generation = ?').run(id);
      this.stmt('DELETE FROM generations WHERE id = ?').run(id);
    });
  }

  // ---- documents ----

  upsertDocuments(collection: string, docs: readonly DocumentWrite[]): { seq: number } {
    return this.write(() => {
      const fts = ftsTableName(this.requireCollection(collection).key);
      const generations = this.generationDimensions(collection);
      for (const doc of docs) validateDocument(doc, generations, collection);
      if (docs.length === 0) return { seq: this.lastSeq() };

      const now = nowIso();
      let seq = 0;
      for (const doc of docs) {
        const title = doc.title ?? null;
        const metadata = JSON.stringify(doc.metadata ?? {});
        const existing = this.stmt('SELECT doc_key FROM documents WHERE collection = ? AND id = ?').get(collection, doc.id) as
          | { doc_key: number }
          | undefined;
        let docKey: number;
        if (existing) {
          docKey = existing.doc_key;
          this.stmt('UPDATE documents SET title = ?, text = ?, metadata = ?, content_hash = ?, updated_at = ? WHERE doc_key = ?').run(
            title,
            doc.text,
            metadata,
            doc.contentHash,
            now,
            docKey,
          );
          this.stmt(`DELETE FROM ${fts} WHERE rowid = ?`).run(docKey);
        } else {
          docKey = Number(
            this.stmt(
              `INSERT INTO documents (collection, id, title, text, metadata, content_hash, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
            ).run(collection, doc.id, title, doc.text, metadata, doc.contentHash, now, now).lastInsertRowid,
          );
        }
        this.stmt(`INSERT INTO ${fts} (rowid, title, text) VALUES (?, ?, ?)`).run(docKey, title ?? '', doc.text);
        for (const [generation, vector] of doc.vectors) {
          // ON CONFLICT rather than INSERT OR REPLACE: with foreign keys on, REPLACE takes a slow
          // path (measured: a third of upsert throughput); an upsert updates the row in place.
          this.stmt(
            'INSERT INTO vectors (generation, doc_id, vector) VALUES (?, ?, ?) ON CONFLICT (generation, doc_id) DO UPDATE SET vector = excluded.vector',
          ).run(
            generation,
            doc.id,
            encodeVector(vector),
          );
        }
        seq = this.appendChange(collection, doc.id, 'upsert');
      }
      return { seq };
    });
  }

  deleteDocuments(collection: string, ids: readonly string[]): { deleted: string[]; seq: number } {
    return this.write(() => {
      const fts = ftsTableName(this.requireCollection(collection).key);
      const generations = [...this.generationDimensions(collection).keys()];
      const deleted: string[] = [];
      let seq = 0;
      for (const id of new Set(ids)) {
        const existing = this.stmt('SELECT doc_key FROM documents WHERE collection = ? AND id = ?').get(collection, id) as
          | { doc_key: number }
          | undefined;
        if (!existing) continue;
        this.stmt('DELETE FROM documents WHERE doc_key = ?').run(existing.doc_key);
        this.stmt(`DELETE FROM ${fts} WHERE rowid = ?`).run(existing.doc_key);
        for (const generation of generations) this.stmt('DELETE FROM vectors WHERE generation = ? AND doc_id = ?').run(generation, id);
        seq = this.appendChange(collection, id, 'delete');
        deleted.push(id);
      }
      return { deleted, seq: deleted.length > 0 ? seq : this.lastSeq() };
    });
  }

  getDocument(collection: string, id: string): DocumentRow | undefined {
    const record = this.stmt(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? AND id = ?`).get(collection, id) as
      | DocumentRecord
      | undefined;
    return record && toDocumentRow(record);
  }

  getDocuments(collection: string, ids: readonly string[]): Map<string, DocumentRow> {
    const out = new Map<string, DocumentRow>();
    for (const chunk of idChunks(ids)) {
      const sql = `SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? AND id IN (${placeholders(chunk.length)})`;
      for (const record of this.stmt(sql).all(collection, ...chunk) as DocumentRecord[]) out.set(record.id, toDocumentRow(record));
    }
    return out;
  }

  hitDocuments(collection: string, ids: readonly string[], options: { text: boolean }): Map<string, HitDocument> {
    const out = new Map<string, HitDocument>();
    const columns = options.text ? 'id, metadata, title, text' : 'id, metadata';
    for (const chunk of idChunks(ids)) {
      const sql = `SELECT ${columns} FROM documents WHERE collection = ? AND id IN (${placeholders(chunk.length)})`;
      const records = this.stmt(sql).all(collection, ...chunk) as { id: string; metadata: string; title?: string | null; text?: string }[];
      for (const r of records) {
        out.set(r.id, options.text ? { metadata: parseJsonObject(r.metadata), title: r.title ?? null, text: r.text ?? '' } : { metadata: parseJsonObject(r.metadata) });
      }
    }
    return out;
  }

  contentHashes(collection: string, ids: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const chunk of idChunks(ids)) {
      const sql = `SELECT id, content_hash FROM documents WHERE collection = ? AND id IN (${placeholders(chunk.length)})`;
      for (const r of this.stmt(sql).all(collection, ...chunk) as { id: string; content_hash: string }[]) out.set(r.id, r.content_hash);
    }
    return out;
  }

  countDocuments(collection: string): number {
    return (this.stmt('SELECT count(*) AS n FROM documents WHERE collection = ?').get(collection) as { n: number }).n;
  }

  idsMatching(collection: string, filter: Filter): string[] {
    const matchAll = Object.values(filter).every((c) => c === undefined);
    const out: string[] = [];
    const rows = this.stmt('SELECT id, metadata FROM documents WHERE collection = ? ORDER BY id').iterate(collection) as IterableIterator<{
      id: string;
      metadata: string;
    }>;
    for (const row of rows) {
      if (matchAll || matchesFilter(filter, parseJsonObject(row.metadata))) out.push(row.id);
    }
    return out;
  }

  documentsAfter(collection: string, afterId: string | null, limit: number): DocumentRow[] {
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidInputError('limit must be a non-negative integer');
    const records = (
      afterId === null
        ? this.stmt(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? ORDER BY id LIMIT ?`).all(collection, limit)
        : this.stmt(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? AND id > ? ORDER BY id LIMIT ?`).all(
            collection,
            afterId,
            limit,
          )
    ) as DocumentRecord[];
    return records.map(toDocumentRow);
  }

  // ---- vectors ----

  getVectors(generation: number, ids: readonly string[]): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const chunk of idChunks(ids)) {
      const sql = `SELECT doc_id, vector FROM vectors WHERE generation = ? AND doc_id IN (${placeholders(chunk.length)})`;
      for (const r of this.stmt(sql).all(generation, ...chunk) as VectorRecord[]) out.set(r.doc_id, decodeVector(r.vector));
    }
    return out;
  }

  /**
   * Pages by doc id instead of holding one cursor open: the caller typically awaits between
   * items (index inserts), and better-sqlite3 refuses every write on the connection while a
   * statement is mid-iteration. Writes landing between pages are caught by replaying
   * `changesSince(lastSeq())` taken before the iteration started.
   */
  *iterateVectors(generation: number): IterableIterator<{ id: string; vector: Float32Array; metadata: Metadata }> {
    const record = this.getGeneration(generation);
    if (!record) return;
    const base = `SELECT v.doc_id, v.vector, d.metadata FROM vectors v JOIN documents d ON d.collection = ? AND d.id = v.doc_id
                  WHERE v.generation = ?`;
    let after: string | null = null;
    for (;;) {
      const rows = (
        after === null
          ? this.stmt(`${base} ORDER BY v.doc_id LIMIT ?`).all(record.collection, generation, VECTOR_PAGE)
          : this.stmt(`${base} AND v.doc_id > ? ORDER BY v.doc_id LIMIT ?`).all(record.collection, generation, after, VECTOR_PAGE)
      ) as VectorMetadataRecord[];
      for (const r of rows) yield { id: r.doc_id, vector: decodeVector(r.vector), metadata: parseJsonObject(r.metadata) };
      if (rows.length < VECTOR_PAGE) return;
      after = rows[rows.length - 1].doc_id;
    }
  }

  countVectors(generation: number): number {
    return (this.stmt('SELECT count(*) AS n FROM vectors WHERE generation = ?').get(generation) as { n: number }).n;
  }

  /** In the order of `ids` (first occurrence), skipping ids without a vector or document. */
  vectorsWithMetadata(generation: number, ids: readonly string[]): { id: string; vector: Float32Array; metadata: Metadata }[] {
    const record = this.getGeneration(generation);
    if (!record) return [];
    const found = new Map<string, { id: string; vector: Float32Array; metadata: Metadata }>();
    for (const chunk of idChunks(ids)) {
      const sql = `SELECT v.doc_id, v.vector, d.metadata FROM vectors v JOIN documents d ON d.collection = ? AND d.id = v.doc_id
                   WHERE v.generation = ? AND v.doc_id IN (${placeholders(chunk.length)})`;
      for (const r of this.stmt(sql).all(record.collection, generation, ...chunk) as VectorMetadataRecord[]) {
        found.set(r.doc_id, { id: r.doc_id, vector: decodeVector(r.vector), metadata: parseJsonObject(r.metadata) });
      }
    }
    return [...new Set(ids)].flatMap((id) => found.get(id) ?? []);
  }

  // ---- change log ----

  /** The highest seq ever issued, even if its row was since removed with its collection. */
  lastSeq(): number {
    const row = this.stmt(`SELECT seq FROM sqlite_sequence WHERE name = 'changes'`).get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  changesSince(collection: string, seq: number, generation?: number): Change[] {
    // SQLite takes the bare column `op` from the row that holds max(seq).
    if (generation === undefined) {
      return this.stmt(
        `SELECT max(seq) AS seq, doc_id AS docId, op FROM changes WHERE collection = ? AND seq > ? GROUP BY doc_id ORDER BY seq`,
      ).all(collection, seq) as Change[];
    }
    return this.stmt(
      `SELECT max(seq) AS seq, doc_id AS docId, op FROM changes
       WHERE collection = ? AND seq > ? AND (generation IS NULL OR generation = ?) GROUP BY doc_id ORDER BY seq`,
    ).all(collection, seq, generation) as Change[];
  }

  /**
   * Removes a collection's change rows up to and including `throughSeq` (once a snapshot holding
   * them is durable) so the log does not grow without bound. Returns the rows removed.
   */
  pruneChanges(collection: string, throughSeq: number): number {
    return this.write(() => this.stmt('DELETE FROM changes WHERE collection = ? AND seq <= ?').run(collection, throughSeq).changes);
  }

  // ---- keyword search ----

  keywordSearch(collection: string, query: string, k: number, allowed?: ReadonlySet<string>): KeywordHit[] {
    if (!Number.isInteger(k) || k < 0) throw new InvalidInputError('k must be a non-negative integer');
    const fts = ftsTableName(this.requireCollection(collection).key);
    const match = toFtsQuery(query);
    if (match === undefined || k === 0 || allowed?.size === 0) return [];
    const sql = `SELECT d.id AS id, -bm25(${fts}, ${TITLE_WEIGHT}, ${TEXT_WEIGHT}) AS score
                 FROM ${fts} JOIN documents d ON d.doc_key = ${fts}.rowid
                 WHERE ${fts} MATCH ? ORDER BY score DESC, d.doc_key`;
    if (!allowed) return this.stmt(`${sql} LIMIT ?`).all(match, k) as KeywordHit[];
    // Walks the ranked matches until k allowed ones are seen: the exact top-k among `allowed`
    // (BM25 has to score every match to sort anyway, so the walk adds little).
    const hits: KeywordHit[] = [];
    for (const hit of this.stmt(sql).iterate(match) as IterableIterator<KeywordHit>) {
      if (!allowed.has(hit.id)) continue;
      hits.push(hit);
      if (hits.length >= k) break;
    }
    return hits;
  }

  // ---- re-embedding ----

  putGenerationVectors(
    collection: string,
    generation: number,
    items: readonly { id: string; vector: Float32Array; contentHash: string }[],
  ): { written: string[]; seq: number } {
    return this.write(() => {
      const dimensions = this.generationDimensions(collection).get(generation);
      if (dimensions === undefined) throw new InvalidInputError(`generation ${generation} is not a generation of '${collection}'`);
      const written: string[] = [];
      let seq = 0;
      for (const item of items) {
        validateVector(item.vector, dimensions, `document '${item.id}'`);
        const current = this.stmt('SELECT content_hash FROM documents WHERE collection = ? AND id = ?').get(collection, item.id) as
          | { content_hash: string }
          | undefined;
        if (current?.content_hash !== item.contentHash) continue; // deleted or rewritten meanwhile
        this.stmt(
          'INSERT INTO vectors (generation, doc_id, vector) VALUES (?, ?, ?) ON CONFLICT (generation, doc_id) DO UPDATE SET vector = excluded.vector',
        ).run(generation, item.id, encodeVector(item.vector));
        seq = this.appendChange(collection, item.id, 'upsert', generation);
        written.push(item.id);
      }
      return { written, seq: written.length > 0 ? seq : this.lastSeq() };
    });
  }

  idsMissingVectors(collection: string, generation: number, limit: number): string[] {
    const rows = this.stmt(
      `SELECT d.id FROM documents d LEFT JOIN vectors v ON v.generation = ? AND v.doc_id = d.id
       WHERE d.collection = ? AND v.doc_id IS NULL ORDER BY d.id LIMIT ?`,
    ).all(generation, collection, limit) as { id: string }[];
    return rows.map((r) => r.id);
  }

  // ---- jobs ----

  createJob(job: Pick<JobRow, 'id' | 'collection' | 'model' | 'reason' | 'total'>): JobRow {
    const now = nowIso();
    this.write(() =>
      this.stmt(
        `INSERT INTO jobs (id, kind, collection, state, model, total, reason, created_at, updated_at)
         VALUES (?, 'reembed', ?, 'queued', ?, ?, ?, ?, ?)`,
      ).run(job.id, job.collection, job.model, job.total, job.reason, now, now),
    );
    return this.getJob(job.id)!;
  }

  getJob(id: string): JobRow | undefined {
    const record = this.stmt('SELECT * FROM jobs WHERE id = ?').get(id) as JobRecord | undefined;
    return record && toJobRow(record);
  }

  listJobs(collection?: string): JobRow[] {
    const records = (
      collection === undefined
        ? this.stmt('SELECT * FROM jobs ORDER BY created_at DESC, id DESC').all()
        : this.stmt('SELECT * FROM jobs WHERE collection = ? ORDER BY created_at DESC, id DESC').all(collection)
    ) as JobRecord[];
    return records.map(toJobRow);
  }

  updateJob(id: string, patch: JobPatch): JobRow {
    const columns: Record<keyof JobPatch, string> = {
      state: 'state',
      generation: 'generation',
      previousGeneration: 'previous_generation',
      done: 'done',
      total: 'total',
      cursor: 'cursor',
      error: 'error',
      startedAt: 'started_at',
      finishedAt: 'finished_at',
    };
    const entries = Object.entries(patch).filter(([, v]) => v !== undefined) as [keyof JobPatch, unknown][];
    this.write(() => {
      if (!this.stmt('SELECT 1 FROM jobs WHERE id = ?').get(id)) throw new InvalidInputError(`job '${id}' does not exist`);
      if (entries.length === 0) return;
      const sets = entries.map(([k]) => `${columns[k]} = ?`).join(', ');
      this.stmt(`UPDATE jobs SET ${sets}, updated_at = ? WHERE id = ?`).run(...entries.map(([, v]) => v), nowIso(), id);
    });
    return this.getJob(id)!;
  }

  // ---- drift ----

  vectorIds(generation: number): string[] {
    return (this.stmt('SELECT doc_id FROM vectors WHERE generation = ? ORDER BY doc_id').all(generation) as { doc_id: string }[]).map((r) => r.doc_id);
  }

  putDriftReference(ref: Pick<DriftReferenceRow, 'collection' | 'kind' | 'generation' | 'vectors' | 'scores'>): DriftReferenceRow {
    if (ref.kind !== 'documents' && ref.kind !== 'queries') throw new InvalidInputError(`drift reference kind must be documents or queries`);
    if (ref.vectors.length === 0) throw new InvalidInputError('a drift reference needs at least one vector');
    const dimensions = ref.vectors[0]!.length;
    ref.vectors.forEach((v, i) => validateVector(v, dimensions, `drift reference vector ${i}`));
    const blob = Buffer.concat(ref.vectors.map(encodeVector));
    this.write(() =>
      this.stmt(
        `INSERT INTO drift_references (collection, kind, generation, dimensions, count, vectors, scores, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (collection, kind) DO UPDATE SET generation = excluded.generation, dimensions = excluded.dimensions,
           count = excluded.count, vectors = excluded.vectors, scores = excluded.scores, created_at = excluded.created_at`,
      ).run(ref.collection, ref.kind, ref.generation, dimensions, ref.vectors.length, blob, ref.scores === null ? null : JSON.stringify(ref.scores), nowIso()),
    );
    return this.getDriftReference(ref.collection, ref.kind)!;
  }

  getDriftReference(collection: string, kind: DriftKindRow): DriftReferenceRow | undefined {
    const r = this.stmt('SELECT * FROM drift_references WHERE collection = ? AND kind = ?').get(collection, kind) as
      | { collection: string; kind: DriftKindRow; generation: number | null; dimensions: number; count: number; vectors: Buffer; scores: string | null; created_at: string }
      | undefined;
    if (!r) return undefined;
    const all = decodeVector(r.vectors);
    if (all.length !== r.dimensions * r.count) throw new Error(`corrupt drift reference for '${collection}' (${kind})`);
    const vectors = Array.from({ length: r.count }, (_, i) => all.slice(i * r.dimensions, (i + 1) * r.dimensions));
    return {
      collection: r.collection,
      kind: r.kind,
      generation: r.generation,
      dimensions: r.dimensions,
      vectors,
      scores: r.scores === null ? null : parseJsonObject(r.scores),
      createdAt: r.created_at,
    };
  }

  deleteDriftReference(collection: string, kind: DriftKindRow): void {
    this.write(() => this.stmt('DELETE FROM drift_references WHERE collection = ? AND kind = ?').run(collection, kind));
  }

  appendDriftHistory(entry: Pick<DriftHistoryRow, 'collection' | 'kind' | 'state' | 'metrics'>, keep: number): DriftHistoryRow {
    const now = nowIso();
    const id = this.writeObservation(() => {
      const { lastInsertRowid } = this.stmt('INSERT INTO drift_history (collection, kind, state, metrics, created_at) VALUES (?, ?, ?, ?, ?)').run(
        entry.collection,
        entry.kind,
        entry.state,
        JSON.stringify(entry.metrics),
        now,
      );
      this.stmt(
        `DELETE FROM drift_history WHERE collection = ? AND kind = ? AND id <=
           (SELECT id FROM drift_history WHERE collection = ? AND kind = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      ).run(entry.collection, entry.kind, entry.collection, entry.kind, Math.max(1, Math.floor(keep)));
      return Number(lastInsertRowid);
    });
    return { id, collection: entry.collection, kind: entry.kind, state: entry.state, metrics: entry.metrics, createdAt: now };
  }

  listDriftHistory(collection: string, options: { kind?: DriftKindRow; limit?: number } = {}): DriftHistoryRow[] {
    const limit = Math.max(1, Math.floor(options.limit ?? 100));
    const rows = (
      options.kind === undefined
        ? this.stmt('SELECT * FROM drift_history WHERE collection = ? ORDER BY id DESC LIMIT ?').all(collection, limit)
        : this.stmt('SELECT * FROM drift_history WHERE collection = ? AND kind = ? ORDER BY id DESC LIMIT ?').all(collection, options.kind, limit)
    ) as { id: number; collection: string; kind: DriftKindRow; state: string; metrics: string; created_at: string }[];
    return rows.map((r) => ({ id: r.id, collection: r.collection, kind: r.kind, state: r.state, metrics: parseJsonObject(r.metrics), createdAt: r.created_at }));
  }

  // ---- internals ----

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** IMMEDIATE: takes the write lock up front, so a transaction never fails half way on upgrade. */
  private write<T>(fn: () => T): T {
    this.collectionCache.clear();
    this.generationCache.clear();
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      this.collectionCache.clear();
      this.generationCache.clear();
    }
  }

  /**
   * A commit without an fsync of its own, for observations (drift history) that touch no
   * collection, document or generation. The row is in the WAL before this returns, so it survives
   * kill -9; the next durable commit or checkpoint syncs it, so only a power loss in between can
   * lose it. An fsync per drift window blocked the event loop 2.5 ms at p50 and up to 17 ms under
   * load (a window fills every ~25 queries).
   */
  private writeObservation<T>(fn: () => T): T {
    this.db.pragma('synchronous = NORMAL');
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  private collectionRecord(name: string): CollectionRecord | undefined {
    return this.stmt('SELECT * FROM collections WHERE name = ?').get(name) as CollectionRecord | undefined;
  }

  private requireCollection(name: string): CollectionRecord {
    const record = this.collectionRecord(name);
    if (!record) throw new CollectionNotFoundError(`collection '${name}' does not exist`, { collection: name });
    return record;
  }

  /** Generation id → dimensions for a collection's generations. */
  private generationDimensions(collection: string): Map<number, number> {
    const rows = this.stmt('SELECT id, dimensions FROM generations WHERE collection = ?').all(collection) as { id: number; dimensions: number }[];
    return new Map(rows.map((r) => [r.id, r.dimensions]));
  }

  private insertGeneration(
    collection: string,
    spec: { model: string; dimensions: number; backend: BackendKind },
    state: GenerationState,
    now: string,
  ): number {
    const { lastInsertRowid } = this.stmt(
      'INSERT INTO generations (collection, model, dimensions, backend, state, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(collection, spec.model, spec.dimensions, spec.backend, state, now);
    return Number(lastInsertRowid);
  }

  private appendChange(collection: string, docId: string, op: Change['op'], generation: number | null = null): number {
    return Number(
      this.stmt('INSERT INTO changes (collection, doc_id, op, generation) VALUES (?, ?, ?, ?)').run(collection, docId, op, generation).lastInsertRowid,
    );
  }
}
