/** Operations on the whole data directory: /v1/admin/… (admin role). */
import { resolve } from 'node:path';
import type { ApiDeps } from '../env.ts';
import * as responses from '../responses.ts';
import { routeWithBody, type Route } from '../route.ts';

export function adminRoutes(deps: ApiDeps): Route[] {
  const { service } = deps;
  return [
    routeWithBody({
      method: 'post',
      path: '/v1/admin/backup',
      operationId: 'backup',
      summary: 'Write a consistent copy of the data directory (database, index snapshots, models) to a directory on the server',
      role: 'admin',
      request: deps.schemas.backup,
      response: responses.backup,
      handle: async (c, body) => {
        const manifest = await service.backup(body.dir);
        return c.json({ dir: resolve(body.dir), ...manifest });
      },
    }),
  ];
}
