/**
 * User feedback on search results (`feedback`): per collection, a query with the document ids a
 * user judged relevant and not relevant, kept in arrival order for training. Separate because
 * these rows are judgements about a collection rather than its content, read in bulk by training
 * jobs. The caller (src/lifecycle/training/feedback.ts) checks that the collection and the ids
 * exist; this repository checks each item's shape and writes a request in one transaction.
 */
import { InvalidInputError } from '../errors.ts';
import type { StoreDatabase } from './database.ts';
import { nowIso, parseJsonStringArray, requireName } from './rows.ts';
import type { FeedbackRepository, FeedbackRow, FeedbackWrite } from './types.ts';

interface FeedbackRecord {
  id: number;
  collection: string;
  query: string;
  relevant: string;
  not_relevant: string;
  created_at: string;
}

function toFeedbackRow(r: FeedbackRecord): FeedbackRow {
  return {
    id: r.id,
    collection: r.collection,
    query: r.query,
    relevant: parseJsonStringArray(r.relevant, `feedback ${r.id} relevant`),
    notRelevant: parseJsonStringArray(r.not_relevant, `feedback ${r.id} not_relevant`),
    createdAt: r.created_at,
  };
}

function validateIds(ids: unknown, what: string): asserts ids is readonly string[] {
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && id.length > 0)) {
    throw new InvalidInputError(`${what} must be an array of non-empty document ids`);
  }
}

function validateItem(item: FeedbackWrite, i: number): void {
  if (typeof item.query !== 'string' || item.query.trim() === '') throw new InvalidInputError(`feedback item ${i}: query must be a non-empty text`);
  validateIds(item.relevant, `feedback item ${i}: relevant`);
  if (item.relevant.length === 0) throw new InvalidInputError(`feedback item ${i}: relevant must name at least one document`);
  validateIds(item.notRelevant, `feedback item ${i}: notRelevant`);
}

const finiteOr = (value: number | undefined, fallback: number): number => (value !== undefined && Number.isFinite(value) ? value : fallback);

export class SqliteFeedback implements FeedbackRepository {
  constructor(private readonly db: StoreDatabase) {}

  addFeedback(collection: string, items: readonly FeedbackWrite[]): FeedbackRow[] {
    requireName(collection, 'collection name');
    items.forEach(validateItem);
    if (items.length === 0) return [];
    const now = nowIso();
    return this.db.write(() =>
      items.map((item) => {
        const relevant = [...item.relevant];
        const notRelevant = [...item.notRelevant];
        const { lastInsertRowid } = this.db
          .stmt('INSERT INTO feedback (collection, query, relevant, not_relevant, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(collection, item.query, JSON.stringify(relevant), JSON.stringify(notRelevant), now);
        return { id: Number(lastInsertRowid), collection, query: item.query, relevant, notRelevant, createdAt: now };
      }),
    );
  }

  listFeedback(collection: string, options: { afterId?: number; limit?: number } = {}): FeedbackRow[] {
    const afterId = Math.max(0, Math.floor(finiteOr(options.afterId, 0)));
    const limit = Math.max(1, Math.floor(finiteOr(options.limit, 100)));
    const rows = this.db.stmt('SELECT * FROM feedback WHERE collection = ? AND id > ? ORDER BY id LIMIT ?').all(collection, afterId, limit) as FeedbackRecord[];
    return rows.map(toFeedbackRow);
  }

  countFeedback(collection: string): number {
    return (this.db.stmt('SELECT COUNT(*) AS n FROM feedback WHERE collection = ?').get(collection) as { n: number }).n;
  }

  deleteFeedback(collection: string): number {
    return this.db.write(() => deleteCollectionFeedback(this.db, collection));
  }
}

/** A collection's feedback rows, for deleteCollection; only inside its `write()`. Returns how many. */
export function deleteCollectionFeedback(db: StoreDatabase, collection: string): number {
  return db.stmt('DELETE FROM feedback WHERE collection = ?').run(collection).changes;
}
