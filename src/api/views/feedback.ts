/** A feedback item as the API shows it (`GET /v1/collections/{name}/feedback`). */
import type { FeedbackRow } from '../../store/types.ts';

export function feedbackView(row: FeedbackRow) {
  return { id: row.id, query: row.query, relevant: [...row.relevant], not_relevant: [...row.notRelevant], created_at: row.createdAt };
}
