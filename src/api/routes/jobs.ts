/** Re-embedding jobs and rollback: /v1/jobs/… and /v1/collections/{name}/reembed|rollback. */
import { Hono } from 'hono';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { ApiDeps, ApiEnv } from '../env.ts';

export function jobsRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const jobs = deps.lifecycle.jobs;
  app.get('/', requireRole(deps.keys, 'read'), (c) => c.json({ jobs: jobs.list(c.req.query('collection')) }));
  app.get('/:id', requireRole(deps.keys, 'read'), (c) => c.json(jobs.get(c.req.param('id'))));
  app.post('/:id/cancel', requireRole(deps.keys, 'admin'), async (c) => c.json(await jobs.cancel(c.req.param('id'))));
  return app;
}

/** Mounted under /v1/collections. */
export function collectionLifecycleRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.post('/:name/reembed', requireRole(deps.keys, 'admin'), async (c) => {
    const body = await readJson(c, deps.schemas.reembed, { emptyAs: {} });
    const job = await deps.lifecycle.jobs.start(c.req.param('name'), { model: body.model, reason: 'manual' });
    return c.json(job, 202);
  });
  app.post('/:name/rollback', requireRole(deps.keys, 'admin'), async (c) => {
    await deps.lifecycle.jobs.rollback(c.req.param('name'));
    return c.json(deps.service.info(c.req.param('name')));
  });
  return app;
}
