/**
 * Evaluation and tuning: /v1/collections/{name}/eval, /tune and /eval-set. The dataset is a
 * BEIR folder on the server's filesystem, so reading it (eval, tune, registering a set) needs
 * the admin role; reading which set is registered, or the last evaluation, needs read.
 */
import { SextantError } from '../../errors.ts';
import { clearEvalSet, DEFAULT_GATE_MARGIN, getEvalSet, registerEvalSet } from '../../lifecycle/eval/eval-set.ts';
import { evaluateAndRecord, getLastEvaluation } from '../../lifecycle/eval/last-evaluation.ts';
import { tuneCollection } from '../../lifecycle/eval/tune.ts';
import type { ApiDeps } from '../env.ts';
import * as responses from '../responses.ts';
import { param, route, routeWithBody, type Route } from '../route.ts';

/** A collection without an evaluation set (404). */
class EvalSetNotFoundError extends SextantError {
  readonly code = 'not_found';
}

export function evalRoutes(deps: ApiDeps): Route[] {
  const { schemas } = deps;
  const evaluation = deps.lifecycle.eval;
  const noSet = (name: string) => new EvalSetNotFoundError(`collection '${name}' has no evaluation set`);
  return [
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/eval',
      operationId: 'evaluate',
      summary: 'Evaluate on a BEIR folder on the server',
      role: 'admin',
      request: schemas.eval,
      response: responses.evalReport,
      handle: async (c, body) =>
        c.json(
          await evaluateAndRecord(evaluation, param(c, 'name'), body.dataset, {
            generation: body.generation,
            compare: body.compare,
            modes: body.modes,
            k: body.k,
            ef: body.ef,
            register: body.register,
            margin: body.margin,
          }),
        ),
    }),
    route({
      method: 'get',
      path: '/v1/collections/{name}/eval',
      operationId: 'lastEvaluation',
      summary: "The collection's last evaluation (what POST …/eval answered, with evaluated_at), or null",
      role: 'read',
      response: responses.lastEvaluation,
      handle: (c) => c.json({ evaluation: getLastEvaluation(evaluation, param(c, 'name')) ?? null }),
    }),
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/tune',
      operationId: 'tune',
      summary: 'Tune hybrid weight and efSearch on a BEIR folder',
      role: 'admin',
      request: schemas.tune,
      response: responses.tuneResult,
      handle: async (c, body) =>
        c.json(await tuneCollection(evaluation, param(c, 'name'), body.dataset, { targetRecall: body.target_recall, dryRun: body.dry_run, seed: body.seed })),
    }),
    route({
      method: 'get',
      path: '/v1/collections/{name}/eval-set',
      operationId: 'getEvalSet',
      summary: 'The registered evaluation set',
      role: 'read',
      response: responses.evalSet,
      handle: (c) => {
        const set = getEvalSet(evaluation, param(c, 'name'));
        if (!set) throw noSet(param(c, 'name'));
        return c.json(set);
      },
    }),
    routeWithBody({
      method: 'put',
      path: '/v1/collections/{name}/eval-set',
      operationId: 'setEvalSet',
      summary: 'Register an evaluation set for the re-embedding gate',
      role: 'admin',
      request: schemas.evalSet,
      response: responses.evalSet,
      handle: (c, body) => c.json(registerEvalSet(evaluation, param(c, 'name'), body.dataset, body.margin ?? DEFAULT_GATE_MARGIN)),
    }),
    route({
      method: 'delete',
      path: '/v1/collections/{name}/eval-set',
      operationId: 'deleteEvalSet',
      summary: 'Remove the evaluation set',
      role: 'admin',
      response: responses.evalSetDeleted,
      handle: (c) => {
        if (!clearEvalSet(evaluation, param(c, 'name'))) throw noSet(param(c, 'name'));
        return c.json({ deleted: true });
      },
    }),
  ];
}
