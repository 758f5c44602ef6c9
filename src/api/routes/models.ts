/** Model versions: GET /v1/models (OpenAI's list shape, with our version details), import and aliases. */
import { importHuggingFaceFolder } from '../../models/hf-import.ts';
import { primaryOnnx } from '../../models/registry.ts';
import type { ApiDeps } from '../env.ts';
import * as responses from '../responses.ts';
import { param, route, routeWithBody, type Route } from '../route.ts';

export function modelsRoutes(deps: ApiDeps): Route[] {
  const registry = deps.service.engines.registry;
  return [
    route({
      method: 'get',
      path: '/v1/models',
      operationId: 'listModels',
      summary: 'Model versions (OpenAI list shape)',
      role: 'read',
      response: responses.modelList,
      handle: async (c) => {
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
            lineage: v.manifest.lineage ?? null,
          })),
        });
      },
    }),
    routeWithBody({
      method: 'post',
      path: '/v1/models/import',
      operationId: 'importModel',
      summary: 'Import a Hugging Face sentence-transformers ONNX folder on the server as a new version',
      role: 'admin',
      request: deps.schemas.importModel,
      response: responses.importedModel,
      status: 201,
      handle: async (c, body) => {
        const version = await importHuggingFaceFolder(registry, body.path, {
          name: body.name,
          version: body.version,
          queryPrefix: body.query_prefix,
          documentPrefix: body.document_prefix,
          matryoshka: body.matryoshka,
        });
        const m = version.manifest;
        return c.json({ id: version.id, dimensions: m.dimensions, dtype: primaryOnnx(m).dtype, pooling: m.pooling, max_tokens: m.maxTokens }, 201);
      },
    }),
    routeWithBody({
      method: 'put',
      path: '/v1/models/aliases/{alias}',
      operationId: 'setAlias',
      summary: 'Move an alias to a version',
      role: 'admin',
      request: deps.schemas.setAlias,
      response: responses.alias,
      handle: async (c, body) => {
        await registry.setAlias(param(c, 'alias'), body.target);
        return c.json({ alias: param(c, 'alias'), target: (await registry.resolve(param(c, 'alias'))).id });
      },
    }),
  ];
}
