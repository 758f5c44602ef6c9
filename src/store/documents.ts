/**
 * Documents and their vectors per generation (`documents`, `vectors`). Separate because this is
 * the hot data path — bulk upserts and every search's reads — and because a document write is the
 * widest transaction in the store: documents, vectors, change-log rows and the keyword index commit
 * together in one `write()`, or not at all (tests/acceptance/durability.test.ts).
 */
import { InvalidInputError } from '../errors.ts';
import { matchesFilter } from '../values/filter.ts';
import type { Filter, Metadata } from '../values/filter.ts';
import type { SqliteChangeLog } from './change-log.ts';
import type { SqliteCollections } from './collections.ts';
import type { StoreDatabase } from './database.ts';
import { fieldPath, planFilter } from './filter-sql.ts';
import { KeywordIndex } from './keyword.ts';
import { idChunks, isPlainObject, nowIso, parseJsonObject, placeholders, requireName } from './rows.ts';
import type { DocumentRow, DocumentsRepository, DocumentWrite, HitDocument } from './types.ts';
import { decodeVector, encodeVector, validateVector } from './vector-codec.ts';

/** Rows per page of `iterateVectors`. */
const VECTOR_PAGE = 1024;

const DOCUMENT_COLUMNS = 'id, title, text, metadata, content_hash, created_at, updated_at';

// ON CONFLICT rather than INSERT OR REPLACE: with foreign keys on, REPLACE takes a slow path
// (measured: a third of upsert throughput); an upsert updates the row in place.
const UPSERT_VECTOR =
  'INSERT INTO vectors (generation, doc_id, vector) VALUES (?, ?, ?) ON CONFLICT (generation, doc_id) DO UPDATE SET vector = excluded.vector';

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

export class SqliteDocuments implements DocumentsRepository {
  constructor(
    private readonly db: StoreDatabase,
    private readonly collections: Pick<SqliteCollections, 'collectionKey' | 'generationDimensions' | 'getGeneration'>,
    private readonly changes: Pick<SqliteChangeLog, 'appendChange' | 'lastSeq'>,
  ) {}

  upsertDocuments(collection: string, docs: readonly DocumentWrite[]): { seq: number } {
    return this.db.write(() => {
      const keywords = new KeywordIndex(this.db, this.collections.collectionKey(collection));
      const generations = this.collections.generationDimensions(collection);
      for (const doc of docs) validateDocument(doc, generations, collection);
      if (docs.length === 0) return { seq: this.changes.lastSeq() };

      const now = nowIso();
      let seq = 0;
      for (const doc of docs) {
        const title = doc.title ?? null;
        const metadata = JSON.stringify(doc.metadata ?? {});
        const existing = this.docKey(collection, doc.id);
        let docKey: number;
        if (existing !== undefined) {
          docKey = existing;
          this.db
            .stmt('UPDATE documents SET title = ?, text = ?, metadata = ?, content_hash = ?, updated_at = ? WHERE doc_key = ?')
            .run(title, doc.text, metadata, doc.contentHash, now, docKey);
          keywords.remove(docKey);
        } else {
          docKey = Number(
            this.db
              .stmt(
                `INSERT INTO documents (collection, id, title, text, metadata, content_hash, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
              )
              .run(collection, doc.id, title, doc.text, metadata, doc.contentHash, now, now).lastInsertRowid,
          );
        }
        keywords.add(docKey, title, doc.text);
        for (const [generation, vector] of doc.vectors) this.db.stmt(UPSERT_VECTOR).run(generation, doc.id, encodeVector(vector));
        seq = this.changes.appendChange(collection, doc.id, 'upsert');
      }
      return { seq };
    });
  }

  deleteDocuments(collection: string, ids: readonly string[]): { deleted: string[]; seq: number } {
    return this.db.write(() => {
      const keywords = new KeywordIndex(this.db, this.collections.collectionKey(collection));
      const generations = [...this.collections.generationDimensions(collection).keys()];
      const deleted: string[] = [];
      let seq = 0;
      for (const id of new Set(ids)) {
        const docKey = this.docKey(collection, id);
        if (docKey === undefined) continue;
        this.db.stmt('DELETE FROM documents WHERE doc_key = ?').run(docKey);
        keywords.remove(docKey);
        for (const generation of generations) this.db.stmt('DELETE FROM vectors WHERE generation = ? AND doc_id = ?').run(generation, id);
        seq = this.changes.appendChange(collection, id, 'delete');
        deleted.push(id);
      }
      return { deleted, seq: deleted.length > 0 ? seq : this.changes.lastSeq() };
    });
  }

  getDocument(collection: string, id: string): DocumentRow | undefined {
    const record = this.db.stmt(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? AND id = ?`).get(collection, id) as
      | DocumentRecord
      | undefined;
    return record && toDocumentRow(record);
  }

  getDocuments(collection: string, ids: readonly string[]): Map<string, DocumentRow> {
    const out = new Map<string, DocumentRow>();
    for (const chunk of idChunks(ids)) {
      const sql = `SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? AND id IN (${placeholders(chunk.length)})`;
      for (const record of this.db.stmt(sql).all(collection, ...chunk) as DocumentRecord[]) out.set(record.id, toDocumentRow(record));
    }
    return out;
  }

  hitDocuments(collection: string, ids: readonly string[], options: { text: boolean }): Map<string, HitDocument> {
    const out = new Map<string, HitDocument>();
    const columns = options.text ? 'id, metadata, title, text' : 'id, metadata';
    for (const chunk of idChunks(ids)) {
      const sql = `SELECT ${columns} FROM documents WHERE collection = ? AND id IN (${placeholders(chunk.length)})`;
      const records = this.db.stmt(sql).all(collection, ...chunk) as { id: string; metadata: string; title?: string | null; text?: string }[];
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
      for (const r of this.db.stmt(sql).all(collection, ...chunk) as { id: string; content_hash: string }[]) out.set(r.id, r.content_hash);
    }
    return out;
  }

  countDocuments(collection: string): number {
    return (this.db.stmt('SELECT count(*) AS n FROM documents WHERE collection = ?').get(collection) as { n: number }).n;
  }

  /** Whether a document holds `field` (top-level) with a string, number or boolean value: one that forms a group. */
  hasGroupableField(collection: string, field: string): boolean {
    const path = fieldPath(field);
    if (path !== undefined) {
      return (
        this.db
          .stmt(`SELECT 1 FROM documents WHERE collection = ? AND json_type(metadata, ?) IN ('text', 'integer', 'real', 'true', 'false') LIMIT 1`)
          .get(collection, path) !== undefined
      );
    }
    // A name no JSON path can say (NUL, a lone surrogate): read the metadata.
    for (const row of this.db.stmt('SELECT metadata FROM documents WHERE collection = ?').iterate(collection) as IterableIterator<{ metadata: string }>) {
      const value = parseJsonObject(row.metadata)[field];
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return true;
    }
    return false;
  }

  /** In SQL (filter-sql.ts), with `matchesFilter` re-checking the rows of any part SQL cannot say. */
  idsMatching(collection: string, filter: Filter): string[] {
    const plan = planFilter(filter);
    if (!plan) return this.idsMatchingInJs(collection, filter);
    const columns = plan.residual ? 'd.id AS id, d.metadata AS metadata' : 'd.id AS id';
    const sql = `SELECT ${columns} FROM documents d WHERE d.collection = ? AND ${plan.where.text} ORDER BY d.id`;
    const statement = this.db.dynamicStmt(sql);
    if (!plan.residual) return (statement.all(collection, ...plan.where.params) as { id: string }[]).map((r) => r.id);
    const out: string[] = [];
    for (const row of statement.iterate(collection, ...plan.where.params) as IterableIterator<{ id: string; metadata: string }>) {
      if (matchesFilter(filter, parseJsonObject(row.metadata))) out.push(row.id);
    }
    return out;
  }

  documentsAfter(collection: string, afterId: string | null, limit: number): DocumentRow[] {
    if (!Number.isInteger(limit) || limit < 0) throw new InvalidInputError('limit must be a non-negative integer');
    const records = (
      afterId === null
        ? this.db.stmt(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? ORDER BY id LIMIT ?`).all(collection, limit)
        : this.db
            .stmt(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? AND id > ? ORDER BY id LIMIT ?`)
            .all(collection, afterId, limit)
    ) as DocumentRecord[];
    return records.map(toDocumentRow);
  }

  getVectors(generation: number, ids: readonly string[]): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const chunk of idChunks(ids)) {
      const sql = `SELECT doc_id, vector FROM vectors WHERE generation = ? AND doc_id IN (${placeholders(chunk.length)})`;
      for (const r of this.db.stmt(sql).all(generation, ...chunk) as VectorRecord[]) out.set(r.doc_id, decodeVector(r.vector));
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
    const record = this.collections.getGeneration(generation);
    if (!record) return;
    const base = `SELECT v.doc_id, v.vector, d.metadata FROM vectors v JOIN documents d ON d.collection = ? AND d.id = v.doc_id
                  WHERE v.generation = ?`;
    let after: string | null = null;
    for (;;) {
      const rows = (
        after === null
          ? this.db.stmt(`${base} ORDER BY v.doc_id LIMIT ?`).all(record.collection, generation, VECTOR_PAGE)
          : this.db.stmt(`${base} AND v.doc_id > ? ORDER BY v.doc_id LIMIT ?`).all(record.collection, generation, after, VECTOR_PAGE)
      ) as VectorMetadataRecord[];
      for (const r of rows) yield { id: r.doc_id, vector: decodeVector(r.vector), metadata: parseJsonObject(r.metadata) };
      if (rows.length < VECTOR_PAGE) return;
      after = rows[rows.length - 1].doc_id;
    }
  }

  countVectors(generation: number): number {
    return (this.db.stmt('SELECT count(*) AS n FROM vectors WHERE generation = ?').get(generation) as { n: number }).n;
  }

  /** In the order of `ids` (first occurrence), skipping ids without a vector or document. */
  vectorsWithMetadata(generation: number, ids: readonly string[]): { id: string; vector: Float32Array; metadata: Metadata }[] {
    const record = this.collections.getGeneration(generation);
    if (!record) return [];
    const found = new Map<string, { id: string; vector: Float32Array; metadata: Metadata }>();
    for (const chunk of idChunks(ids)) {
      const sql = `SELECT v.doc_id, v.vector, d.metadata FROM vectors v JOIN documents d ON d.collection = ? AND d.id = v.doc_id
                   WHERE v.generation = ? AND v.doc_id IN (${placeholders(chunk.length)})`;
      for (const r of this.db.stmt(sql).all(record.collection, generation, ...chunk) as VectorMetadataRecord[]) {
        found.set(r.doc_id, { id: r.doc_id, vector: decodeVector(r.vector), metadata: parseJsonObject(r.metadata) });
      }
    }
    return [...new Set(ids)].flatMap((id) => found.get(id) ?? []);
  }

  putGenerationVectors(
    collection: string,
    generation: number,
    items: readonly { id: string; vector: Float32Array; contentHash: string }[],
  ): { written: string[]; seq: number } {
    return this.db.write(() => {
      const dimensions = this.collections.generationDimensions(collection).get(generation);
      if (dimensions === undefined) throw new InvalidInputError(`generation ${generation} is not a generation of '${collection}'`);
      const written: string[] = [];
      let seq = 0;
      for (const item of items) {
        validateVector(item.vector, dimensions, `document '${item.id}'`);
        const current = this.db.stmt('SELECT content_hash FROM documents WHERE collection = ? AND id = ?').get(collection, item.id) as
          | { content_hash: string }
          | undefined;
        if (current?.content_hash !== item.contentHash) continue; // deleted or rewritten meanwhile
        this.db.stmt(UPSERT_VECTOR).run(generation, item.id, encodeVector(item.vector));
        seq = this.changes.appendChange(collection, item.id, 'upsert', generation);
        written.push(item.id);
      }
      return { written, seq: written.length > 0 ? seq : this.changes.lastSeq() };
    });
  }

  idsMissingVectors(collection: string, generation: number, limit: number): string[] {
    const rows = this.db.stmt(
      `SELECT d.id FROM documents d LEFT JOIN vectors v ON v.generation = ? AND v.doc_id = d.id
       WHERE d.collection = ? AND v.doc_id IS NULL ORDER BY d.id LIMIT ?`,
    ).all(generation, collection, limit) as { id: string }[];
    return rows.map((r) => r.id);
  }

  vectorIds(generation: number): string[] {
    return (this.db.stmt('SELECT doc_id FROM vectors WHERE generation = ? ORDER BY doc_id').all(generation) as { doc_id: string }[]).map((r) => r.doc_id);
  }

  /** The evaluator `idsMatching` used before filters went to SQL; now only for malformed filters. */
  private idsMatchingInJs(collection: string, filter: Filter): string[] {
    const matchAll = Object.values(filter).every((c) => c === undefined);
    const out: string[] = [];
    const rows = this.db.stmt('SELECT id, metadata FROM documents WHERE collection = ? ORDER BY id').iterate(collection) as IterableIterator<{
      id: string;
      metadata: string;
    }>;
    for (const row of rows) {
      if (matchAll || matchesFilter(filter, parseJsonObject(row.metadata))) out.push(row.id);
    }
    return out;
  }

  private docKey(collection: string, id: string): number | undefined {
    const row = this.db.stmt('SELECT doc_key FROM documents WHERE collection = ? AND id = ?').get(collection, id) as { doc_key: number } | undefined;
    return row?.doc_key;
  }
}

/** A collection's vectors (every generation) and documents, for deleteCollection; only inside its `write()`. */
export function deleteCollectionDocuments(db: StoreDatabase, collection: string): void {
  db.stmt('DELETE FROM vectors WHERE generation IN (SELECT id FROM generations WHERE collection = ?)').run(collection);
  db.stmt('DELETE FROM documents WHERE collection = ?').run(collection);
}

/** One generation's vectors, for dropGeneration; only inside its `write()`. */
export function deleteGenerationVectors(db: StoreDatabase, generation: number): void {
  db.stmt('DELETE FROM vectors WHERE generation = ?').run(generation);
}
