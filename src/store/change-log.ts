/**
 * The change log (`changes` table): one row per document write, in seq order, from which an HNSW
 * snapshot replays the writes it missed after a crash. Rows are pruned once every local
 * generation of the collection has a durable snapshot past them (`recordSnapshot`), so the log
 * holds about one snapshot interval of writes, not the collection's whole history. Separate because its rows are written by
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
   * Removes a collection's change rows up to and including `throughSeq` and records how far the
   * log now starts (`prunedThrough`). Returns the rows removed. Normally called through
   * `recordSnapshot`, which knows how far is safe.
   */
  pruneChanges(collection: string, throughSeq: number): number {
    return this.db.write(() => {
      if (throughSeq <= this.prunedThrough(collection)) return 0;
      this.db.stmt(
        `INSERT INTO change_log_horizon (collection, pruned_through) VALUES (?, ?)
         ON CONFLICT (collection) DO UPDATE SET pruned_through = excluded.pruned_through`,
      ).run(collection, throughSeq);
      return this.db.stmt('DELETE FROM changes WHERE collection = ? AND seq <= ?').run(collection, throughSeq).changes;
    });
  }

  /** Every change of the collection up to this seq is gone from the log (0: none pruned). */
  prunedThrough(collection: string): number {
    const row = this.db.stmt('SELECT pruned_through FROM change_log_horizon WHERE collection = ?').get(collection) as
      | { pruned_through: number }
      | undefined;
    return row?.pruned_through ?? 0;
  }

  /**
   * Records that `generation`'s index has a durable snapshot holding every change up to
   * `appliedSeq` (0: no snapshot), then prunes the collection's log through the lowest such seq
   * over its local generations: rows no snapshot needs any more. A local generation with no
   * record counts as 0, so it holds the log until its first snapshot. Returns the rows removed.
   */
  recordSnapshot(collection: string, generation: number, appliedSeq: number): number {
    return this.db.write(() => {
      this.db.stmt(
        `INSERT INTO index_snapshots (generation, applied_seq) SELECT id, ? FROM generations WHERE id = ?
         ON CONFLICT (generation) DO UPDATE SET applied_seq = excluded.applied_seq`,
      ).run(appliedSeq, generation);
      const row = this.db.stmt(
        `SELECT min(coalesce(s.applied_seq, 0)) AS seq FROM generations g LEFT JOIN index_snapshots s ON s.generation = g.id
         WHERE g.collection = ? AND g.backend = 'hnsw'`,
      ).get(collection) as { seq: number | null };
      return row.seq === null || row.seq <= 0 ? 0 : this.pruneChanges(collection, row.seq);
    });
  }

  /** Change rows a collection holds now (the soak benchmark's bounded-disk figure). */
  countChanges(collection?: string): number {
    const row = (collection === undefined
      ? this.db.stmt('SELECT count(*) AS n FROM changes').get()
      : this.db.stmt('SELECT count(*) AS n FROM changes WHERE collection = ?').get(collection)) as { n: number };
    return row.n;
  }
}

/** A collection's change rows, for deleteCollection; only inside its `write()`. */
export function deleteCollectionChanges(db: StoreDatabase, collection: string): void {
  db.stmt('DELETE FROM changes WHERE collection = ?').run(collection);
  db.stmt('DELETE FROM change_log_horizon WHERE collection = ?').run(collection);
}
