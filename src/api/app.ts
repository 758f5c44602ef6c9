/** The Hono application: middleware (limits, rate limit, metrics), routes, error mapping. */
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import type { Runtime } from '../runtime.ts';
import { parseApiKeys, requireRole } from './auth.ts';
import { limitBodySize } from './body-limit.ts';
import type { ApiDeps, ApiEnv } from './env.ts';
import { errorBody, handleError } from './errors.ts';
import { createMetrics, registerDriftMetrics } from './instrumentation.ts';
import { openApiDocument } from './openapi.ts';
import { RateLimiter } from './rate-limit.ts';
import { collectionsRoutes } from './routes/collections.ts';
import { driftRoutes } from './routes/drift.ts';
import { embeddingsRoutes } from './routes/embeddings.ts';
import { evalRoutes } from './routes/eval.ts';
import { adminRoutes } from './routes/admin.ts';
import { auditRoutes } from './routes/audit.ts';
import { consoleRoutes } from './console/routes.ts';
import { feedbackRoutes } from './routes/feedback.ts';
import { jobsRoutes } from './routes/jobs.ts';
import { modelsRoutes } from './routes/models.ts';
import { serviceRoutes, WHOAMI_PATH } from './routes/service.ts';
import { mountRoutes, type Route } from './route.ts';
import { schemasFor } from './schemas.ts';

export const API_VERSION = '0.1.0';

/** The HTTP face of a runtime: it translates requests; the runtime (src/runtime.ts) does the work. */
export function createApp(runtime: Runtime): { app: Hono<ApiEnv>; deps: ApiDeps } {
  const { config, service, lifecycle } = runtime;
  const deps: ApiDeps = {
    config,
    service,
    lifecycle,
    keys: parseApiKeys(config.apiKeys),
    schemas: schemasFor(config),
    metrics: createMetrics(service),
  };
  registerDriftMetrics(deps.metrics, lifecycle.drift);
  const limiter = new RateLimiter(config.rateLimit);
  const app = new Hono<ApiEnv>();

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    // routePath is the matched pattern (e.g. /v1/collections/:name), so label cardinality stays bounded.
    const labels = { route: c.req.routePath, method: c.req.method, status: String(c.res.status) };
    deps.metrics.requests.inc(labels);
    deps.metrics.latency.observe(labels, (performance.now() - started) / 1000);
  });
  app.use('/v1/*', limitBodySize(config.maxBodyBytes));
  const readRole = requireRole(deps.keys, 'read');
  // Without keys, limit per client address (the socket's, not a header a client can forge).
  const byAddress = (c: Context<ApiEnv>) => `addr:${getConnInfo(c).remote.address ?? 'unknown'}`;
  app.use('/v1/*', async (c, next) => {
    // whoami answers any caller whether its key is known (GET /v1/whoami), so it has no role check;
    // it is limited per address, which is what slows down guessing keys with it.
    if (c.req.path === WHOAMI_PATH) {
      limiter.take(byAddress(c));
      return next();
    }
    return readRole(c, async () => {
      const principal = c.get('principal');
      limiter.take(principal === 'anonymous' ? byAddress(c) : principal);
      await next();
    });
  });

  // Every operation is one definition (src/api/route.ts); the OpenAPI document is built from the same list.
  let document: Record<string, unknown> | undefined;
  const routes: Route[] = [
    ...serviceRoutes(deps, () => (document ??= openApiDocument(routes, API_VERSION))),
    ...embeddingsRoutes(deps),
    ...modelsRoutes(deps),
    ...jobsRoutes(deps),
    ...collectionsRoutes(deps),
    ...evalRoutes(deps),
    ...auditRoutes(deps),
    ...driftRoutes(deps),
    ...feedbackRoutes(deps),
    ...adminRoutes(deps),
  ];
  mountRoutes(app, routes, deps.keys);
  // The web console: static files only; its data comes from the routes above, with the user's key.
  app.route('/', consoleRoutes());

  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError(handleError);
  return { app, deps };
}
