/**
 * User feedback kept for training: /v1/collections/{name}/feedback.
 *
 * POST   …/feedback  write  {items: [{query, relevant: [id…], not_relevant?: [id…]}]} → {stored}; all or nothing
 * GET    …/feedback  read   ?limit (1–1000, default 100) &after (an item id) → {count, items (oldest first), next}
 * DELETE …/feedback  write  → {deleted}
 */
import { addFeedback, DEFAULT_FEEDBACK_PAGE, deleteFeedback, listFeedback, MAX_FEEDBACK_PAGE } from '../../lifecycle/training/feedback.ts';
import type { ApiDeps } from '../env.ts';
import * as responses from '../responses.ts';
import { integerParam, param, route, routeWithBody, type Route } from '../route.ts';
import { feedbackView } from '../views/feedback.ts';

export function feedbackRoutes(deps: ApiDeps): Route[] {
  const feedback = deps.lifecycle.feedback;
  return [
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/feedback',
      operationId: 'addFeedback',
      summary: 'Store relevance feedback (query, relevant and not relevant document ids) for training; all or nothing',
      role: 'write',
      request: deps.schemas.feedback,
      response: responses.feedbackStored,
      handle: (c, body) =>
        c.json(addFeedback(feedback, param(c, 'name'), body.items.map((item) => ({ query: item.query, relevant: item.relevant, notRelevant: item.not_relevant })))),
    }),
    route({
      method: 'get',
      path: '/v1/collections/{name}/feedback',
      operationId: 'listFeedback',
      summary: 'Stored feedback, oldest first, a page at a time',
      role: 'read',
      response: responses.feedbackList,
      query: [
        { name: 'limit', description: `Items per page, 1 to ${MAX_FEEDBACK_PAGE} (default ${DEFAULT_FEEDBACK_PAGE})`, type: 'integer' },
        { name: 'after', description: 'The `next` of the previous page: items after this id', type: 'integer' },
      ],
      handle: (c) => {
        const page = listFeedback(feedback, param(c, 'name'), { limit: integerParam(c.req.query('limit'), 'limit'), after: integerParam(c.req.query('after'), 'after') });
        return c.json({ count: page.count, items: page.items.map(feedbackView), next: page.next });
      },
    }),
    route({
      method: 'delete',
      path: '/v1/collections/{name}/feedback',
      operationId: 'deleteFeedback',
      summary: "Remove all of the collection's feedback",
      role: 'write',
      response: responses.feedbackDeleted,
      handle: (c) => c.json({ deleted: deleteFeedback(feedback, param(c, 'name')) }),
    }),
  ];
}
