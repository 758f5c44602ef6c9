/**
 * The fairness audit: POST /v1/collections/{name}/audit. Queries come as texts in the body or
 * as a BEIR folder on the server's filesystem; reading a folder needs the admin role, like
 * evaluation, so the operation is admin (it also runs one search per query and generation).
 */
import { auditCollection } from '../../lifecycle/audit/run.ts';
import type { ApiDeps } from '../env.ts';
import * as responses from '../responses.ts';
import { param, routeWithBody, type Route } from '../route.ts';

export function auditRoutes(deps: ApiDeps): Route[] {
  const { schemas } = deps;
  return [
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/audit',
      operationId: 'audit',
      summary: 'Fairness audit: exposure per group of a metadata field in the top-k, against collection and relevance shares',
      role: 'admin',
      request: schemas.audit,
      response: responses.auditReport,
      handle: async (c, body) =>
        c.json(
          await auditCollection(deps.lifecycle.eval, param(c, 'name'), body.dataset !== undefined ? { dataset: body.dataset } : { queries: body.queries ?? [] }, {
            groupBy: body.group_by,
            mode: body.mode,
            k: body.k,
            generation: body.generation,
            compare: body.compare,
            bootstrap: body.bootstrap,
            seed: body.seed,
          }),
        ),
    }),
  ];
}
