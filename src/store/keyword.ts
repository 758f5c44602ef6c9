/**
 * BM25 keyword search: one contentless FTS5 table per collection (`fts_<key>`), so document
 * frequencies and average lengths are that collection's own. Separate because the FTS tables are
 * the one part of the schema created and dropped at run time, and because their rows are never
 * written on their own: `KeywordIndex` keeps a collection's table in step with its documents
 * inside the documents repository's (or the collections repository's) transaction.
 */
import { InvalidInputError } from '../errors.ts';
import type { StoreDatabase } from './database.ts';
import { createFtsTableSql, ftsTableName } from './schema.ts';
import type { KeywordHit, KeywordRepository } from './types.ts';

/**
 * BM25 column weights (title, text). Measured on Cranfield and CISI: a heavier title did not
 * help (Cranfield abstracts already repeat the title), so both count once.
 */
const TITLE_WEIGHT = 1;
const TEXT_WEIGHT = 1;
/** Bounds the cost of pasting a whole document in as a query. */
const MAX_QUERY_TERMS = 256;

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

/** Resolves a collection name to the key its FTS table is named by (CollectionNotFoundError if none). */
export interface CollectionKeys {
  collectionKey(name: string): number;
}

/**
 * One collection's FTS table. Every method runs inside the caller's `write()`, so the keyword
 * index commits (or not) together with the documents it indexes.
 */
export class KeywordIndex {
  readonly table: string;

  constructor(
    private readonly db: StoreDatabase,
    private readonly collectionKey: number,
  ) {
    this.table = ftsTableName(collectionKey);
  }

  create(): void {
    this.db.exec(createFtsTableSql(this.collectionKey));
  }

  drop(): void {
    this.db.exec(`DROP TABLE IF EXISTS ${this.table}`);
    // Its statements would only fail from now on (keys are never reissued); if the transaction
    // rolls back they are simply prepared again.
    this.db.forgetStatements(this.table);
  }

  /** Indexes a document under its `doc_key`; `remove` it first when it was indexed before. */
  add(docKey: number, title: string | null, text: string): void {
    this.db.stmt(`INSERT INTO ${this.table} (rowid, title, text) VALUES (?, ?, ?)`).run(docKey, title ?? '', text);
  }

  remove(docKey: number): void {
    this.db.stmt(`DELETE FROM ${this.table} WHERE rowid = ?`).run(docKey);
  }
}

export class SqliteKeyword implements KeywordRepository {
  constructor(
    private readonly db: StoreDatabase,
    private readonly collections: CollectionKeys,
  ) {}

  keywordSearch(collection: string, query: string, k: number, allowed?: ReadonlySet<string>): KeywordHit[] {
    if (!Number.isInteger(k) || k < 0) throw new InvalidInputError('k must be a non-negative integer');
    const fts = ftsTableName(this.collections.collectionKey(collection));
    const match = toFtsQuery(query);
    if (match === undefined || k === 0 || allowed?.size === 0) return [];
    const sql = `SELECT d.id AS id, -bm25(${fts}, ${TITLE_WEIGHT}, ${TEXT_WEIGHT}) AS score
                 FROM ${fts} JOIN documents d ON d.doc_key = ${fts}.rowid
                 WHERE ${fts} MATCH ? ORDER BY score DESC, d.doc_key`;
    if (!allowed) return this.db.stmt(`${sql} LIMIT ?`).all(match, k) as KeywordHit[];
    // Walks the ranked matches until k allowed ones are seen: the exact top-k among `allowed`
    // (BM25 has to score every match to sort anyway, so the walk adds little).
    const hits: KeywordHit[] = [];
    for (const hit of this.db.stmt(sql).iterate(match) as IterableIterator<KeywordHit>) {
      if (!allowed.has(hit.id)) continue;
      hits.push(hit);
      if (hits.length >= k) break;
    }
    return hits;
  }
}
