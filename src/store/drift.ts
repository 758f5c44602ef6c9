/**
 * Drift detection's rows: one reference sample of embeddings per collection and kind
 * (`drift_references`) and the history of evaluated windows (`drift_history`). Separate because
 * these are observations about a collection rather than its content: history rows are committed
 * without an fsync of their own (`writeObservation`), which no other repository may do.
 */
import { InvalidInputError } from '../errors.ts';
import type { StoreDatabase } from './database.ts';
import { nowIso, parseJsonObject } from './rows.ts';
import type { DriftHistoryRow, DriftKindRow, DriftReferenceRow, DriftRepository } from './types.ts';
import { decodeVector, encodeVector, validateVector } from './vector-codec.ts';

interface DriftReferenceRecord {
  collection: string;
  kind: DriftKindRow;
  generation: number | null;
  dimensions: number;
  count: number;
  vectors: Buffer;
  scores: string | null;
  created_at: string;
}

interface DriftHistoryRecord {
  id: number;
  collection: string;
  kind: DriftKindRow;
  state: string;
  metrics: string;
  created_at: string;
}

export class SqliteDrift implements DriftRepository {
  constructor(private readonly db: StoreDatabase) {}

  putDriftReference(ref: Pick<DriftReferenceRow, 'collection' | 'kind' | 'generation' | 'vectors' | 'scores'>): DriftReferenceRow {
    if (ref.kind !== 'documents' && ref.kind !== 'queries') throw new InvalidInputError(`drift reference kind must be documents or queries`);
    if (ref.vectors.length === 0) throw new InvalidInputError('a drift reference needs at least one vector');
    const dimensions = ref.vectors[0]!.length;
    ref.vectors.forEach((v, i) => validateVector(v, dimensions, `drift reference vector ${i}`));
    const blob = Buffer.concat(ref.vectors.map(encodeVector));
    this.db.write(() =>
      this.db.stmt(
        `INSERT INTO drift_references (collection, kind, generation, dimensions, count, vectors, scores, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (collection, kind) DO UPDATE SET generation = excluded.generation, dimensions = excluded.dimensions,
           count = excluded.count, vectors = excluded.vectors, scores = excluded.scores, created_at = excluded.created_at`,
      ).run(ref.collection, ref.kind, ref.generation, dimensions, ref.vectors.length, blob, ref.scores === null ? null : JSON.stringify(ref.scores), nowIso()),
    );
    return this.getDriftReference(ref.collection, ref.kind)!;
  }

  getDriftReference(collection: string, kind: DriftKindRow): DriftReferenceRow | undefined {
    const r = this.db.stmt('SELECT * FROM drift_references WHERE collection = ? AND kind = ?').get(collection, kind) as DriftReferenceRecord | undefined;
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
    this.db.write(() => this.db.stmt('DELETE FROM drift_references WHERE collection = ? AND kind = ?').run(collection, kind));
  }

  appendDriftHistory(entry: Pick<DriftHistoryRow, 'collection' | 'kind' | 'state' | 'metrics'>, keep: number): DriftHistoryRow {
    const now = nowIso();
    const id = this.db.writeObservation(() => {
      const { lastInsertRowid } = this.db
        .stmt('INSERT INTO drift_history (collection, kind, state, metrics, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(entry.collection, entry.kind, entry.state, JSON.stringify(entry.metrics), now);
      this.db.stmt(
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
        ? this.db.stmt('SELECT * FROM drift_history WHERE collection = ? ORDER BY id DESC LIMIT ?').all(collection, limit)
        : this.db.stmt('SELECT * FROM drift_history WHERE collection = ? AND kind = ? ORDER BY id DESC LIMIT ?').all(collection, options.kind, limit)
    ) as DriftHistoryRecord[];
    return rows.map((r) => ({ id: r.id, collection: r.collection, kind: r.kind, state: r.state, metrics: parseJsonObject(r.metrics), createdAt: r.created_at }));
  }
}

/** A collection's references and history, for deleteCollection; only inside its `write()`. */
export function deleteCollectionDrift(db: StoreDatabase, collection: string): void {
  db.stmt('DELETE FROM drift_references WHERE collection = ?').run(collection);
  db.stmt('DELETE FROM drift_history WHERE collection = ?').run(collection);
}
