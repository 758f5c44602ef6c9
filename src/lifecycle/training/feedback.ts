/**
 * User feedback for training: which documents a user judged relevant (and not relevant) for a
 * query, stored per collection, oldest first. The training jobs beside this module read it. Every
 * check runs before anything is written, and a request is written in one transaction, so one bad
 * item stores nothing. The API (src/api/routes/feedback.ts) validates the same item rules in its
 * schema (`feedbackItemIssues`), so its errors name the field; these checks hold for every caller.
 */
import { CollectionNotFoundError, InvalidInputError } from '../../errors.ts';
import type { CollectionsRepository, DocumentsRepository, FeedbackRepository, FeedbackRow } from '../../store/types.ts';

/** Items per page of `listFeedback` by default, and at most. */
export const DEFAULT_FEEDBACK_PAGE = 100;
export const MAX_FEEDBACK_PAGE = 1000;

/** What the feedback operations read and write, handed over by the composition root (src/runtime.ts). */
export interface FeedbackDeps {
  readonly feedback: FeedbackRepository;
  readonly collections: Pick<CollectionsRepository, 'getCollection'>;
  /** Which of the judged ids are documents of the collection. */
  readonly documents: Pick<DocumentsRepository, 'contentHashes'>;
}

export interface FeedbackItem {
  readonly query: string;
  readonly relevant: readonly string[];
  readonly notRelevant?: readonly string[];
}

export interface FeedbackIssue {
  /** Path inside the item: ['query'], ['relevant', 2], ['not_relevant', 0]. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** Problems of one item that need no lookup: empty query, no relevant id, an id listed twice or on both sides. */
export function feedbackItemIssues(item: { query: string; relevant: readonly string[]; notRelevant?: readonly string[] }): FeedbackIssue[] {
  const issues: FeedbackIssue[] = [];
  if (item.query.trim() === '') issues.push({ path: ['query'], message: 'must not be empty or only whitespace' });
  if (item.relevant.length === 0) issues.push({ path: ['relevant'], message: 'must name at least one relevant document id' });
  const duplicates = (ids: readonly string[], field: string) => {
    const seen = new Set<string>();
    ids.forEach((id, i) => {
      if (seen.has(id)) issues.push({ path: [field, i], message: `document id '${id}' is listed twice` });
      seen.add(id);
    });
  };
  duplicates(item.relevant, 'relevant');
  duplicates(item.notRelevant ?? [], 'not_relevant');
  const relevant = new Set(item.relevant);
  (item.notRelevant ?? []).forEach((id, i) => {
    if (relevant.has(id)) issues.push({ path: ['not_relevant', i], message: `document id '${id}' is both relevant and not relevant` });
  });
  return issues;
}

function requireCollection(deps: FeedbackDeps, collection: string): void {
  if (!deps.collections.getCollection(collection)) throw new CollectionNotFoundError(`collection '${collection}' does not exist`, { collection });
}

const MESSAGE_IDS = 10;

/**
 * Stores the items, all or nothing: the collection must exist, each item must pass
 * `feedbackItemIssues`, and every id must be a document of the collection (a 400 lists those
 * that are not, in `details.unknown_ids`).
 */
export function addFeedback(deps: FeedbackDeps, collection: string, items: readonly FeedbackItem[]): { stored: number } {
  requireCollection(deps, collection);
  if (items.length === 0) throw new InvalidInputError('give at least one feedback item');
  const problems = items.flatMap((item, i) => feedbackItemIssues(item).map((issue) => ({ path: ['items', i, ...issue.path].join('.'), message: issue.message })));
  if (problems.length > 0) throw new InvalidInputError(problems.map((p) => `${p.path}: ${p.message}`).join('; '), { issues: problems });

  const ids = [...new Set(items.flatMap((item) => [...item.relevant, ...(item.notRelevant ?? [])]))];
  const known = deps.documents.contentHashes(collection, ids);
  const unknown = ids.filter((id) => !known.has(id)).sort();
  if (unknown.length > 0) {
    const shown = unknown.slice(0, MESSAGE_IDS).map((id) => `'${id}'`).join(', ');
    const more = unknown.length > MESSAGE_IDS ? ` and ${unknown.length - MESSAGE_IDS} more` : '';
    throw new InvalidInputError(`not documents of collection '${collection}': ${shown}${more}`, { collection, unknown_ids: unknown });
  }
  // No await between the checks and the write: nothing can delete a document in between.
  const rows = deps.feedback.addFeedback(
    collection,
    items.map((item) => ({ query: item.query, relevant: item.relevant, notRelevant: item.notRelevant ?? [] })),
  );
  return { stored: rows.length };
}

export interface FeedbackPage {
  /** Feedback items the collection holds in all (every page). */
  readonly count: number;
  readonly items: readonly FeedbackRow[];
  /** The `after` cursor of the next page (the last id of this one); null on the last page. */
  readonly next: number | null;
}

/** A page of the collection's feedback, oldest first, after the item with id `after` (default: from the start). */
export function listFeedback(deps: FeedbackDeps, collection: string, options: { after?: number; limit?: number } = {}): FeedbackPage {
  const limit = options.limit ?? DEFAULT_FEEDBACK_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_FEEDBACK_PAGE) throw new InvalidInputError(`limit must be an integer from 1 to ${MAX_FEEDBACK_PAGE}`);
  const after = options.after ?? 0;
  if (!Number.isSafeInteger(after) || after < 0) throw new InvalidInputError('after must be a feedback id (an integer >= 0)');
  requireCollection(deps, collection);
  const rows = deps.feedback.listFeedback(collection, { afterId: after, limit: limit + 1 });
  const items = rows.slice(0, limit);
  return { count: deps.feedback.countFeedback(collection), items, next: rows.length > limit ? items[items.length - 1]!.id : null };
}

/** Removes all of the collection's feedback; returns how many items. */
export function deleteFeedback(deps: FeedbackDeps, collection: string): number {
  requireCollection(deps, collection);
  return deps.feedback.deleteFeedback(collection);
}
