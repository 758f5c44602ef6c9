/**
 * Evaluation and tuning: /v1/collections/{name}/eval, /tune and /eval-set. The dataset is a
 * BEIR folder on the server's filesystem, so reading it (eval, tune, registering a set) needs
 * the admin role; reading which set is registered needs read.
 */
import { Hono } from 'hono';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { SextantError } from '../../errors.ts';
import { clearEvalSet, DEFAULT_GATE_MARGIN, evaluateWithCompare, getEvalSet, registerEvalSet } from '../../lifecycle/evaluate.ts';
import { DEFAULT_TARGET_RECALL, tuneCollection } from '../../lifecycle/tune.ts';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { ApiDeps, ApiEnv } from '../env.ts';

const datasetPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => isAbsolute(p), { message: 'must be an absolute path to a BEIR folder on the server' })
  .describe('Absolute path, on the server, of a BEIR folder (queries.jsonl, qrels.tsv or qrels/test.tsv)');

/** A collection without an evaluation set (404). */
class EvalSetNotFoundError extends SextantError {
  readonly code = 'not_found';
}

export const evalSchemas = {
  eval: z
    .object({
      dataset: datasetPath,
      generation: z.number().int().positive().optional().describe('Generation to evaluate (default: the live one)'),
      compare: z
        .union([z.number().int().positive(), z.string().min(1).max(256)])
        .optional()
        .describe('A second generation id, or a model (name@version or alias) one of the collection\'s generations uses'),
      modes: z.array(z.enum(['dense', 'keyword', 'hybrid'])).min(1).max(3).optional(),
      k: z.number().int().min(10).max(10_000).optional().describe('Recall depth (default 100)'),
      ef: z.number().int().min(1).max(10_000).optional().describe('efSearch override for the dense searches'),
      register: z.boolean().optional().describe('Also register the dataset as the collection\'s evaluation set (re-embedding gate)'),
      margin: z.number().min(0).max(1).optional().describe(`nDCG@10 a new generation may lose and still pass the gate (default ${DEFAULT_GATE_MARGIN})`),
    })
    .strict(),
  tune: z
    .object({
      dataset: datasetPath,
      target_recall: z.number().gt(0).max(1).optional().describe(`ANN recall@10 the chosen efSearch must reach (default ${DEFAULT_TARGET_RECALL})`),
      dry_run: z.boolean().optional().describe('Report without storing the new defaults'),
      seed: z.number().int().nonnegative().optional().describe('Seed of the cross-validation split'),
    })
    .strict(),
  evalSet: z
    .object({
      dataset: datasetPath,
      margin: z.number().min(0).max(1).optional(),
    })
    .strict(),
};

export function evalRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const { service, keys } = deps;
  const app = new Hono<ApiEnv>();
  const read = requireRole(keys, 'read');
  const admin = requireRole(keys, 'admin');

  app.post('/:name/eval', admin, async (c) => {
    const body = await readJson(c, evalSchemas.eval);
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
    const body = await readJson(c, evalSchemas.tune);
    return c.json(await tuneCollection(service, c.req.param('name'), body.dataset, { targetRecall: body.target_recall, dryRun: body.dry_run, seed: body.seed }));
  });

  app.get('/:name/eval-set', read, (c) => {
    const set = getEvalSet(service, c.req.param('name'));
    if (!set) throw new EvalSetNotFoundError(`collection '${c.req.param('name')}' has no evaluation set`);
    return c.json(set);
  });

  app.put('/:name/eval-set', admin, async (c) => {
    const body = await readJson(c, evalSchemas.evalSet);
    return c.json(registerEvalSet(service, c.req.param('name'), body.dataset, body.margin ?? DEFAULT_GATE_MARGIN));
  });

  app.delete('/:name/eval-set', admin, (c) => {
    const removed = clearEvalSet(service, c.req.param('name'));
    if (!removed) throw new EvalSetNotFoundError(`collection '${c.req.param('name')}' has no evaluation set`);
    return c.json({ deleted: true });
  });

  return app;
}
