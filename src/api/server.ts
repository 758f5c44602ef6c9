/**
 * Runs the API: refuses to expose an unauthenticated server beyond loopback, loads the default
 * model before accepting traffic, and shuts down gracefully (index snapshots flushed) on signals.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { log } from '../log.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import { openRuntime } from '../runtime.ts';
import type { SearchService } from '../search/service.ts';
import { createApp } from './app.ts';
import { parseApiKeys } from './auth.ts';
import type { ApiEnv } from './env.ts';

/** Idle keep-alive connections stay open this long (above the common 60 s load-balancer idle timeout). */
const KEEP_ALIVE_MS = 65_000;

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly service: SearchService;
  readonly lifecycle: Lifecycle;
  /** The routes it serves (tests compare them with /openapi.json). */
  readonly app: Hono<ApiEnv>;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

export async function startServer(config: Config): Promise<RunningServer> {
  const keys = parseApiKeys(config.apiKeys);
  if (keys.length === 0) {
    if (!isLoopback(config.host)) {
      throw new ConfigError(
        `refusing to listen on ${config.host} without API keys: set SEXTANT_API_KEYS (key:role,…) or bind to 127.0.0.1`,
      );
    }
    log.warn('no API keys configured (SEXTANT_API_KEYS): listening on loopback only, without authentication', { host: config.host });
  }
  // The default model loads before the port opens, so a listening server is a ready one.
  const runtime = await openRuntime(config, { warmModel: config.defaultModel });
  const { service, lifecycle } = runtime;
  const { app } = createApp(runtime);
  let server: ServerType;
  try {
    server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () => resolve(s));
      s.once('error', reject);
    });
  } catch (err) {
    await runtime.close(); // e.g. the port is taken: unlock the data directory
    throw err;
  }
  // Node closes idle keep-alive connections after 5 s by default, sooner than load balancers
  // (60 s idle on AWS ALB and GCP) and client pools expect, so a reused connection can meet a
  // reset. Outlast them; headersTimeout must stay above keepAliveTimeout.
  if ('keepAliveTimeout' in server) {
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    server.headersTimeout = KEEP_ALIVE_MS + 1000;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info('sextant listening', { url, dataDir: config.dataDir, modelsDir: config.modelsDir, auth: keys.length > 0 });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    service,
    lifecycle,
    app,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await runtime.close();
        log.info('sextant stopped');
      })();
      return closing;
    },
  };
}
