/** Re-embedding jobs, the generations they make, and rollback: /v1/jobs/… and /v1/collections/{name}/reembed|train|generations|rollback. */
import { rollbackTarget } from '../../lifecycle/reembed/jobs.ts';
import type { ApiDeps } from '../env.ts';
import * as responses from '../responses.ts';
import { param, route, routeWithBody, type Route } from '../route.ts';
import { collectionView } from '../views/collection.ts';
import { generationView } from '../views/generation.ts';
import { jobView } from '../views/job.ts';

export function jobsRoutes(deps: ApiDeps): Route[] {
  const jobs = deps.lifecycle.jobs;
  const training = deps.lifecycle.trainJobs;
  // Both kinds of job, one table: each runner answers for its own kind.
  const anyJob = (id: string) => (training.has(id) ? training.get(id) : jobs.get(id));
  const allJobs = (collection: string | undefined) =>
    [...jobs.list(collection), ...training.list(collection)].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  return [
    route({
      method: 'get',
      path: '/v1/jobs',
      operationId: 'listJobs',
      summary: 'Jobs, newest first',
      role: 'read',
      response: responses.jobList,
      query: [{ name: 'collection', description: 'Only this collection', type: 'string' }],
      handle: (c) => c.json({ jobs: allJobs(c.req.query('collection')).map(jobView) }),
    }),
    route({
      method: 'get',
      path: '/v1/jobs/{id}',
      operationId: 'getJob',
      summary: 'A job with progress',
      role: 'read',
      response: responses.job,
      handle: (c) => c.json(jobView(anyJob(param(c, 'id')))),
    }),
    route({
      method: 'post',
      path: '/v1/jobs/{id}/cancel',
      operationId: 'cancelJob',
      summary: 'Cancel a queued or running job',
      role: 'admin',
      response: responses.job,
      handle: async (c) => {
        const id = param(c, 'id');
        return c.json(jobView(training.has(id) ? await training.cancel(id) : await jobs.cancel(id)));
      },
    }),
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/reembed',
      operationId: 'reembed',
      summary: "Start re-embedding into a new generation; default model: the collection's target",
      role: 'admin',
      request: deps.schemas.reembed,
      optionalBody: true,
      response: responses.job,
      status: 202,
      handle: async (c, body) => c.json(jobView(await jobs.start(param(c, 'name'), { model: body.model, reason: 'manual' })), 202),
    }),
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/train',
      operationId: 'train',
      summary: "Start a training job: a model version trained on the collection, validated and gated; with activate and a passed gate, re-embedding to it follows",
      role: 'admin',
      request: deps.schemas.train,
      optionalBody: true,
      response: responses.job,
      status: 202,
      handle: (c, body) =>
        c.json(
          jobView(
            training.start(param(c, 'name'), {
              ...(body.kind !== undefined ? { kind: body.kind } : {}),
              ...(body.epochs !== undefined ? { epochs: body.epochs } : {}),
              ...(body.seed !== undefined ? { seed: body.seed } : {}),
              ...(body.gate !== undefined ? { gate: body.gate } : {}),
              ...(body.fairness !== undefined
                ? { fairness: { groupBy: body.fairness.group_by, ...(body.fairness.margin !== undefined ? { margin: body.fairness.margin } : {}) } }
                : {}),
              ...(body.activate !== undefined ? { activate: body.activate } : {}),
            }),
          ),
          202,
        ),
    }),
    route({
      method: 'get',
      path: '/v1/collections/{name}/generations',
      operationId: 'listGenerations',
      summary: 'Index generations, newest first, with the live one and the one a rollback would make live',
      role: 'read',
      response: responses.generationList,
      handle: async (c) => {
        const name = param(c, 'name');
        const live = deps.service.info(name).generation;
        const generations = deps.service.generations(name);
        // One lookup per model: a version that cannot be read (removed since) has no lineage to show.
        const models = [...new Set(generations.map((g) => g.model))];
        const versions = await Promise.all(models.map((m) => deps.service.engines.resolve(m).catch(() => undefined)));
        const lineages = new Map(models.map((m, i) => [m, versions[i]?.manifest.lineage ?? null]));
        return c.json({
          live,
          rollback_to: rollbackTarget(generations)?.id ?? null,
          generations: generations.map((g) => generationView(g, lineages.get(g.model) ?? null)),
        });
      },
    }),
    route({
      method: 'post',
      path: '/v1/collections/{name}/rollback',
      operationId: 'rollback',
      summary: 'Make the previous generation live again',
      role: 'admin',
      response: responses.collection,
      handle: async (c) => {
        await jobs.rollback(param(c, 'name'));
        return c.json(collectionView(deps.service.info(param(c, 'name'))));
      },
    }),
  ];
}
