/**
 * The real application without a socket: the whole runtime (store, engines, indexes, search,
 * lifecycle) behind `app.request()`. Route tests use it; tests that need a listening server
 * (SDK clients, kill -9, load) use helpers/server.ts.
 */
import type { Hono } from 'hono';
import { inject } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import type { ApiEnv } from '../../src/api/env.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Lifecycle } from '../../src/lifecycle/lifecycle.ts';
import { setLogLevel } from '../../src/log.ts';
import { openRuntime } from '../../src/runtime.ts';
import type { SearchService } from '../../src/search/service.ts';

export interface TestApp {
  readonly app: Hono<ApiEnv>;
  readonly service: SearchService;
  readonly lifecycle: Lifecycle;
  /** One request through the app, as if from `remoteAddress` (127.0.0.1 unless given). */
  request(path: string, init?: RequestInit, remoteAddress?: string): Promise<Response>;
  close(): Promise<void>;
}

/** Opens the runtime the server would open for this configuration, and its app, without listening. */
export async function startTestApp(overrides: Partial<Record<keyof Config, string | number>> & { dataDir: string }): Promise<TestApp> {
  setLogLevel('warn');
  // Tests call policy.review themselves: no timed review may act between their steps.
  const config = loadConfig({ modelsDir: inject('modelsDir'), host: '127.0.0.1', port: 0, policyReviewSeconds: 0, ...overrides }, {});
  const runtime = await openRuntime(config, { warmModel: config.defaultModel });
  const { app } = createApp(runtime);
  return {
    app,
    service: runtime.service,
    lifecycle: runtime.lifecycle,
    // The rate limiter keys anonymous clients by the socket's address (getConnInfo reads it
    // from the Node bindings), so in-process requests bring the bindings a socket would.
    request: async (path, init, remoteAddress = '127.0.0.1') =>
      app.request(path, init, { incoming: { socket: { remoteAddress, remotePort: 0, remoteFamily: 'IPv4' } } }),
    close: () => runtime.close(),
  };
}
