/** The Hono application: middleware (limits, rate limit, metrics), routes, error mapping. */
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import type { Config } from '../config.ts';
import { DriftMonitor } from '../lifecycle/drift/monitor.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import { attachPolicy, createDriftPolicy, type DriftPolicy } from '../lifecycle/policy.ts';
import type { SearchService } from '../search/service.ts';
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
import { collectionLifecycleRoutes, jobsRoutes } from './routes/jobs.ts';
import { modelAdminRoutes } from './routes/model-admin.ts';
import { modelsRoutes } from './routes/models.ts';
import { schemasFor } from './schemas.ts';

export const API_VERSION = '0.1.0';

export function createApp(config: Config, service: SearchService, lifecycle: Lifecycle): { app: Hono<ApiEnv>; deps: ApiDeps; drift: DriftMonitor; policy: DriftPolicy } {
  const deps: ApiDeps = {
    config,
    service,
    lifecycle,
    keys: parseApiKeys(config.apiKeys),
    schemas: schemasFor(config),
    metrics: createMetrics(service),
  };
  // Drift detection listens to the search service; the policy reviews what each window shows.
  const drift = new DriftMonitor(service);
  const policy = createDriftPolicy(service, drift, (collection, reason) => lifecycle.jobs.start(collection, { reason }));
  attachPolicy(drift, policy);
  registerDriftMetrics(deps.metrics, drift);
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
  app.use('/v1/*', requireRole(deps.keys, 'read'), async (c, next) => {
    // Without keys, limit per client address (the socket's, not a header a client can forge).
    const principal = c.get('principal');
    limiter.take(principal === 'anonymous' ? `addr:${getConnInfo(c).remote.address ?? 'unknown'}` : principal);
    await next();
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const engines = service.engines.loaded();
    const ready = engines.length > 0;
    return c.json(
      {
        status: ready ? 'ready' : 'starting',
        models: engines.map((e) => ({ id: e.id, device: e.device, ...(e.fallbackReason ? { fallback_reason: e.fallbackReason } : {}) })),
        device: engines[0]?.device ?? null,
        store: 'open',
        collections: service.listCollections().length,
      },
      ready ? 200 : 503,
    );
  });
  app.get('/metrics', requireRole(deps.keys, 'read'), (c) => c.text(deps.metrics.registry.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }));
  const openapi = openApiDocument(deps.schemas, API_VERSION);
  app.get('/openapi.json', (c) => c.json(openapi));

  app.route('/v1/embeddings', embeddingsRoutes(deps));
  app.route('/v1/models', modelsRoutes(deps));
  app.route('/v1/models', modelAdminRoutes(deps));
  app.route('/v1/collections', collectionsRoutes(deps));
  app.route('/v1/collections', collectionLifecycleRoutes(deps));
  app.route('/v1/collections', evalRoutes(deps));
  app.route('/v1/collections', driftRoutes(deps, drift, policy));
  app.route('/v1/jobs', jobsRoutes(deps));

  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError(handleError);
  return { app, deps, drift, policy };
}
