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
import type { KeywordExplanation, KeywordHit, KeywordRepository, KeywordTermContribution } from './types.ts';

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
  const tokens = queryTerms(text);
  return tokens.length === 0 ? undefined : tokens.map((t) => `"${t}"`).join(' OR ');
}

/** The words of a query that toFtsQuery makes phrases of, in order (repeats kept). */
function queryTerms(text: string): string[] {
  // Marks are kept inside the token so FTS5 re-tokenizes it exactly as it did the document.
  return (text.normalize('NFC').toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? []).slice(0, MAX_QUERY_TERMS);
}

/** FTS5's tokenizer for the collections' tables, for stemming query terms the same way. */
const TOKENIZE = "tokenize='porter unicode61 remove_diacritics 2'";

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

  /**
   * BM25 is a sum over the query's phrases (FTS5's bm25(): IDF of the phrase times its saturated
   * in-document frequency, the document length the same for every phrase), so a term's
   * contribution is exactly the score of a query made of that phrase alone, from the same index
   * statistics. A repeated query word is one entry with its phrases' contributions added.
   * df counts the documents matching the phrase; tf counts the document's occurrences of the
   * term's stem, read from an fts5vocab view of the index (the term stemmed by a scratch FTS5
   * table with the same tokenizer).
   */
  keywordExplain(collection: string, query: string, ids: readonly string[]): Map<string, KeywordExplanation> {
    const fts = ftsTableName(this.collections.collectionKey(collection));
    const keys = new Map<number, string>();
    for (const id of ids) {
      const row = this.db.stmt('SELECT doc_key FROM documents WHERE collection = ? AND id = ?').get(collection, id) as { doc_key: number } | undefined;
      if (row) keys.set(row.doc_key, id);
    }
    const out = new Map<string, KeywordExplanation>();
    if (keys.size === 0) return out;
    const terms = queryTerms(query);
    const counts = new Map<string, number>();
    for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
    const placeholders = [...keys.keys()].map(() => '?').join(',');
    const totals = new Map<number, number>();
    const match = toFtsQuery(query);
    if (match !== undefined) {
      const rows = this.db
        .stmt(`SELECT rowid AS key, -bm25(${fts}, ${TITLE_WEIGHT}, ${TEXT_WEIGHT}) AS score FROM ${fts} WHERE ${fts} MATCH ? AND rowid IN (${placeholders})`)
        .all(match, ...keys.keys()) as { key: number; score: number }[];
      for (const r of rows) totals.set(r.key, r.score);
    }
    const stems = this.stems([...counts.keys()]);
    const vocab = this.instanceVocabulary(fts);
    const perDoc = new Map<number, KeywordTermContribution[]>([...keys.keys()].map((k) => [k, []]));
    for (const [term, repeats] of counts) {
      const phrase = `"${term}"`;
      const df = (this.db.stmt(`SELECT count(*) AS n FROM ${fts} WHERE ${fts} MATCH ?`).get(phrase) as { n: number }).n;
      const scores = new Map<number, number>();
      if (df > 0) {
        const rows = this.db
          .stmt(`SELECT rowid AS key, -bm25(${fts}, ${TITLE_WEIGHT}, ${TEXT_WEIGHT}) AS score FROM ${fts} WHERE ${fts} MATCH ? AND rowid IN (${placeholders})`)
          .all(phrase, ...keys.keys()) as { key: number; score: number }[];
        for (const r of rows) scores.set(r.key, r.score);
      }
      const termStems = stems.get(term) ?? [];
      for (const [key, list] of perDoc) {
        // A word the tokenizer splits (rare) is a phrase: its occurrences are at most its rarest part's.
        const tf = termStems.length === 0 || !scores.has(key) ? 0 : Math.min(...termStems.map((stem) => this.occurrences(vocab, stem, key)));
        list.push({ term, df, tf, contribution: repeats * (scores.get(key) ?? 0) });
      }
    }
    for (const [key, id] of keys) out.set(id, { score: totals.get(key) ?? 0, terms: perDoc.get(key)! });
    return out;
  }

  /** Each word's stems as FTS5 indexes it (usually one), via a scratch table in the connection's temp schema. */
  private stems(words: readonly string[]): Map<string, string[]> {
    this.db.handle.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.sextant_stem USING fts5(x, ${TOKENIZE})`);
    this.db.handle.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.sextant_stem_terms USING fts5vocab(temp, sextant_stem, 'instance')`);
    const insert = this.db.stmt('INSERT INTO temp.sextant_stem (rowid, x) VALUES (?, ?)');
    const out = new Map<string, string[]>();
    this.db.handle.transaction(() => {
      words.forEach((w, i) => insert.run(i + 1, w));
      const rows = this.db.stmt('SELECT term, doc, offset FROM temp.sextant_stem_terms ORDER BY doc, offset').all() as { term: string; doc: number }[];
      for (const r of rows) {
        const word = words[r.doc - 1]!;
        out.set(word, [...(out.get(word) ?? []), r.term]);
      }
      this.db.handle.exec('DELETE FROM temp.sextant_stem');
    })();
    return out;
  }

  /** An fts5vocab 'instance' view of a collection's index (term, doc, col, offset), created once per connection. */
  private instanceVocabulary(fts: string): string {
    const view = `${fts}_instances`;
    this.db.handle.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.${view} USING fts5vocab(main, ${fts}, 'instance')`);
    return view;
  }

  private occurrences(view: string, stem: string, key: number): number {
    return (this.db.stmt(`SELECT count(*) AS n FROM temp.${view} WHERE term = ? AND doc = ?`).get(stem, key) as { n: number }).n;
  }
}
