/** GET /v1/models — OpenAI's list shape, with our version details. */
import { Hono } from 'hono';
import { primaryOnnx } from '../../models/registry.ts';
import { requireRole } from '../auth.ts';
import type { ApiDeps, ApiEnv } from '../env.ts';

export function modelsRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/', requireRole(deps.keys, 'read'), async (c) => {
    const registry = deps.service.engines.registry;
    const [versions, aliases] = await Promise.all([registry.list(), registry.aliases()]);
    const collections = deps.service.listCollections();
    return c.json({
      object: 'list',
      data: versions.map((v) => ({
        id: v.id,
        object: 'model',
        created: Math.floor(Date.parse(v.manifest.createdAt) / 1000),
        owned_by: 'sextant',
        dimensions: v.manifest.dimensions,
        max_tokens: v.manifest.maxTokens,
        dtype: primaryOnnx(v.manifest).dtype,
        pooling: v.manifest.pooling,
        aliases: Object.entries(aliases)
          .filter(([, target]) => target === v.id)
          .map(([alias]) => alias),
        collections: collections.filter((col) => col.model === v.id).map((col) => col.name),
      })),
    });
  });
  return app;
}
