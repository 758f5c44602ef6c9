/**
 * Evaluation and tuning: /v1/collections/{name}/eval, /tune and /eval-set. The dataset is a
 * BEIR folder on the server's filesystem, so reading it (eval, tune, registering a set) needs
 * the admin role; reading which set is registered needs read.
 */
import { Hono } from 'hono';
import { SextantError } from '../../errors.ts';
import { clearEvalSet, DEFAULT_GATE_MARGIN, evaluateWithCompare, getEvalSet, registerEvalSet } from '../../lifecycle/evaluate.ts';
import { tuneCollection } from '../../lifecycle/tune.ts';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { ApiDeps, ApiEnv } from '../env.ts';

/** A collection without an evaluation set (404). */
class EvalSetNotFoundError extends SextantError {
  readonly code = 'not_found';
}

export function evalRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const { service, keys } = deps;
  const app = new Hono<ApiEnv>();
  const read = requireRole(keys, 'read');
  const admin = requireRole(keys, 'admin');

  app.post('/:name/eval', admin, async (c) => {
    const body = await readJson(c, deps.schemas.eval);
    const name = c.req.param('name');
    const report = await evaluateWithCompare(service, name, body.dataset, {
      generation: body.generation,
      compare: body.compare,
      modes: body.modes,
      k: body.k,
      ef: body.ef,
    });
    if (!body.register) return c.json(report);
    const evalSet = registerEvalSet(service, name, body.dataset, body.margin ?? DEFAULT_GATE_MARGIN);
    return c.json({ ...report, eval_set: evalSet });
  });

  app.post('/:name/tune', admin, async (c) => {
    const body = await readJson(c, deps.schemas.tune);
    return c.json(await tuneCollection(service, c.req.param('name'), body.dataset, { targetRecall: body.target_recall, dryRun: body.dry_run, seed: body.seed }));
  });

  app.get('/:name/eval-set', read, (c) => {
    const set = getEvalSet(service, c.req.param('name'));
    if (!set) throw new EvalSetNotFoundError(`collection '${c.req.param('name')}' has no evaluation set`);
    return c.json(set);
  });

  app.put('/:name/eval-set', admin, async (c) => {
    const body = await readJson(c, deps.schemas.evalSet);
    return c.json(registerEvalSet(service, c.req.param('name'), body.dataset, body.margin ?? DEFAULT_GATE_MARGIN));
  });

  app.delete('/:name/eval-set', admin, (c) => {
    const removed = clearEvalSet(service, c.req.param('name'));
    if (!removed) throw new EvalSetNotFoundError(`collection '${c.req.param('name')}' has no evaluation set`);
    return c.json({ deleted: true });
  });

  return app;
}
