/**
 * The change log (`changes` table): one row per document write, in seq order, from which an HNSW
 * snapshot replays the writes it missed after a crash. Separate because its rows are written by
 * other repositories inside their own transactions (`appendChange` runs within a document upsert,
 * delete or re-embedding batch, never on its own), while it is read by index recovery alone.
 */
import type { StoreDatabase } from './database.ts';
import type { Change, ChangeLogRepository } from './types.ts';

export class SqliteChangeLog implements ChangeLogRepository {
  constructor(private readonly db: StoreDatabase) {}

  /**
   * Appends one change row; only inside a caller's `write()`, so the change commits (or not) with
   * the write it records. A null `generation` concerns every generation (document writes).
   */
  appendChange(collection: string, docId: string, op: Change['op'], generation: number | null = null): number {
    return Number(
      this.db.stmt('INSERT INTO changes (collection, doc_id, op, generation) VALUES (?, ?, ?, ?)').run(collection, docId, op, generation).lastInsertRowid,
    );
  }

  /** The highest seq ever issued, even if its row was since removed with its collection. */
  lastSeq(): number {
    const row = this.db.stmt(`SELECT seq FROM sqlite_sequence WHERE name = 'changes'`).get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  changesSince(collection: string, seq: number, generation?: number): Change[] {
    // SQLite takes the bare column `op` from the row that holds max(seq).
    if (generation === undefined) {
      return this.db.stmt(
        `SELECT max(seq) AS seq, doc_id AS docId, op FROM changes WHERE collection = ? AND seq > ? GROUP BY doc_id ORDER BY seq`,
      ).all(collection, seq) as Change[];
    }
    return this.db.stmt(
      `SELECT max(seq) AS seq, doc_id AS docId, op FROM changes
       WHERE collection = ? AND seq > ? AND (generation IS NULL OR generation = ?) GROUP BY doc_id ORDER BY seq`,
    ).all(collection, seq, generation) as Change[];
  }

  /**
   * Removes a collection's change rows up to and including `throughSeq` (once a snapshot holding
   * them is durable) so the log does not grow without bound. Returns the rows removed.
   */
  pruneChanges(collection: string, throughSeq: number): number {
    return this.db.write(() => this.db.stmt('DELETE FROM changes WHERE collection = ? AND seq <= ?').run(collection, throughSeq).changes);
  }
}

/** A collection's change rows, for deleteCollection; only inside its `write()`. */
export function deleteCollectionChanges(db: StoreDatabase, collection: string): void {
  db.stmt('DELETE FROM changes WHERE collection = ?').run(collection);
}
