/** The service itself: liveness, readiness, Prometheus metrics, who is asking (whoami) and the OpenAPI document. */
import { identify } from '../auth.ts';
import type { ApiDeps } from '../env.ts';
import * as responses from '../responses.ts';
import { route, type Route } from '../route.ts';

/** Outside the role check of every other /v1 route (see app.ts). */
export const WHOAMI_PATH = '/v1/whoami';

export function serviceRoutes(deps: ApiDeps, openapi: () => Record<string, unknown>): Route[] {
  const { service } = deps;
  return [
    route({ method: 'get', path: '/healthz', operationId: 'health', summary: 'Liveness', role: 'none', response: responses.health, handle: (c) => c.json({ status: 'ok' }) }),
    route({
      method: 'get',
      path: '/readyz',
      operationId: 'ready',
      summary: 'Readiness: model loaded, stores open, active device (503 while starting)',
      role: 'none',
      response: responses.readiness,
      handle: (c) => {
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
      },
    }),
    route({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics (text exposition format)',
      role: 'read',
      handle: async (c) => c.text(await deps.metrics.registry.render(), 200, { 'content-type': deps.metrics.registry.contentType }),
    }),
    route({
      method: 'get',
      path: WHOAMI_PATH,
      operationId: 'whoami',
      summary:
        "Whether the request's API key is known, its label and role ('anonymous' and admin when the server has no keys). " +
        'Answers 200 either way, like OAuth token introspection (RFC 7662): the web console checks a typed key with it.',
      role: 'none',
      response: responses.whoami,
      handle: (c) => {
        const who = identify(deps.keys, c.req.header('authorization'));
        return c.json(who.ok ? { authenticated: true, principal: who.principal, role: who.role } : { authenticated: false, message: who.message });
      },
    }),
    route({ method: 'get', path: '/openapi.json', operationId: 'openapi', summary: 'This document', role: 'none', handle: (c) => c.json(openapi()) }),
  ];
}
