/** The real app (the runtime and createApp) served in this process, with its drift monitor and policy reachable by tests. */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { DriftMonitor } from '../../src/lifecycle/drift/monitor.ts';
import type { DriftPolicy } from '../../src/lifecycle/policy.ts';
import { setLogLevel } from '../../src/log.ts';
import { openRuntime } from '../../src/runtime.ts';
import type { SearchService } from '../../src/search/service.ts';

export interface DriftApp {
  readonly url: string;
  readonly config: Config;
  readonly service: SearchService;
  readonly drift: DriftMonitor;
  readonly policy: DriftPolicy;
  close(): Promise<void>;
}

export async function startDriftApp(dataDir: string, overrides: Partial<Record<keyof Config, string | number>> = {}): Promise<DriftApp> {
  setLogLevel('warn');
  // Tests call policy.review themselves: no timed review may act between their steps.
  const config = loadConfig({ modelsDir: inject('modelsDir'), dataDir, host: '127.0.0.1', port: 0, policyReviewSeconds: 0, ...overrides }, {});
  const runtime = await openRuntime(config, { warmModel: config.defaultModel });
  const { service, lifecycle } = runtime;
  const { drift, policy } = lifecycle;
  const { app } = createApp(runtime);
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    s.once('error', reject);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    config,
    service,
    drift,
    policy,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
    },
  };
}
