/** What route modules receive: the services and the per-app helpers. */
import type { Config } from '../config.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { SearchService } from '../search/service.ts';
import type { ApiKey, AuthVariables } from './auth.ts';
import type { ApiMetrics } from './instrumentation.ts';
import type { Schemas } from './schemas.ts';

export interface ApiDeps {
  readonly config: Config;
  readonly service: SearchService;
  readonly lifecycle: Lifecycle;
  readonly keys: readonly ApiKey[];
  readonly schemas: Schemas;
  readonly metrics: ApiMetrics;
}

export type ApiEnv = { Variables: AuthVariables };
