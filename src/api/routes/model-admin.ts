/** Model administration: POST /v1/models/import, PUT /v1/models/aliases/{alias}. */
import { Hono } from 'hono';
import { importHuggingFaceFolder } from '../../models/hf-import.ts';
import { primaryOnnx } from '../../models/registry.ts';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { ApiDeps, ApiEnv } from '../env.ts';

export function modelAdminRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const registry = deps.service.engines.registry;
  app.post('/import', requireRole(deps.keys, 'admin'), async (c) => {
    const body = await readJson(c, deps.schemas.importModel);
    const version = await importHuggingFaceFolder(registry, body.path, {
      name: body.name,
      version: body.version,
      queryPrefix: body.query_prefix,
      documentPrefix: body.document_prefix,
      matryoshka: body.matryoshka,
    });
    return c.json(
      { id: version.id, dimensions: version.manifest.dimensions, dtype: primaryOnnx(version.manifest).dtype, pooling: version.manifest.pooling, max_tokens: version.manifest.maxTokens },
      201,
    );
  });
  app.put('/aliases/:alias', requireRole(deps.keys, 'admin'), async (c) => {
    const body = await readJson(c, deps.schemas.setAlias);
    await registry.setAlias(c.req.param('alias'), body.target);
    return c.json({ alias: c.req.param('alias'), target: (await registry.resolve(c.req.param('alias'))).id });
  });
  return app;
}
