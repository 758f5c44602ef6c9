/** Collections, their documents and search: /v1/collections/… */
import { DocumentNotFoundError } from '../../errors.ts';
import { parseFilter } from '../../values/filter.ts';
import { mergeTrainingSettings } from '../../lifecycle/training/settings.ts';
import { DEFAULT_DOCUMENT_PAGE, MAX_DOCUMENT_PAGE } from '../../search/documents.ts';
import type { ApiDeps } from '../env.ts';
import * as responses from '../responses.ts';
import { integerParam, param, route, routeWithBody, type Route } from '../route.ts';
import { collectionView } from '../views/collection.ts';
import { documentView } from '../views/document.ts';

export function collectionsRoutes(deps: ApiDeps): Route[] {
  const { service, schemas } = deps;
  const notFound = (collection: string, id: string) => new DocumentNotFoundError(`document '${id}' not found in collection '${collection}'`);
  return [
    route({
      method: 'get',
      path: '/v1/collections',
      operationId: 'listCollections',
      summary: 'List collections',
      role: 'read',
      response: responses.collectionList,
      handle: (c) => c.json({ collections: service.listCollections().map(collectionView) }),
    }),
    routeWithBody({
      method: 'post',
      path: '/v1/collections',
      operationId: 'createCollection',
      summary: 'Create a collection',
      role: 'write',
      request: schemas.createCollection,
      response: responses.collection,
      status: 201,
      handle: async (c, body) =>
        c.json(collectionView(await service.createCollection({ name: body.name, model: body.model, backend: body.backend, hnsw: body.hnsw, hybridAlpha: body.hybrid_alpha })), 201),
    }),
    route({
      method: 'get',
      path: '/v1/collections/{name}',
      operationId: 'getCollection',
      summary: 'Describe a collection',
      role: 'read',
      response: responses.collection,
      handle: async (c) => {
        const info = service.info(param(c, 'name'));
        const version = await service.engines.resolve(info.model).catch(() => undefined);
        return c.json({ ...collectionView(info), lineage: version?.manifest.lineage ?? null });
      },
    }),
    routeWithBody({
      method: 'patch',
      path: '/v1/collections/{name}',
      operationId: 'updateCollection',
      summary: 'Change target, hybrid_alpha, hnsw.efSearch, policy or training',
      role: 'admin',
      request: schemas.updateCollection,
      response: responses.collection,
      handle: async (c, body) => {
        const name = param(c, 'name');
        const settings = {
          ...(body.policy !== undefined ? { policy: body.policy } : {}),
          ...(body.training !== undefined ? { training: mergeTrainingSettings(service.settingsOf(name).training, body.training) } : {}),
        };
        return c.json(
          collectionView(
            await service.updateCollection(name, {
              target: body.target,
              hybridAlpha: body.hybrid_alpha,
              efSearch: body.hnsw?.efSearch,
              settings: Object.keys(settings).length > 0 ? settings : undefined,
            }),
          ),
        );
      },
    }),
    route({
      method: 'delete',
      path: '/v1/collections/{name}',
      operationId: 'deleteCollection',
      summary: 'Delete a collection, its documents and every index generation',
      role: 'admin',
      response: responses.deletedCollection,
      handle: async (c) => {
        await service.deleteCollection(param(c, 'name'));
        return c.json({ deleted: param(c, 'name') });
      },
    }),
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/documents',
      operationId: 'upsertDocuments',
      summary: 'Upsert documents (embed and index; atomic per request, idempotent by id)',
      role: 'write',
      request: schemas.upsertDocuments,
      response: responses.upsertResult,
      handle: async (c, body) => c.json({ ...(await service.upsertDocuments(param(c, 'name'), body.documents)), count: body.documents.length }),
    }),
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/documents/delete',
      operationId: 'deleteDocuments',
      summary: 'Delete documents by ids or by metadata filter',
      role: 'write',
      request: schemas.deleteDocuments,
      response: responses.deletedDocuments,
      handle: async (c, body) => {
        const name = param(c, 'name');
        const deleted = 'ids' in body ? await service.deleteDocuments(name, body.ids) : await service.deleteByFilter(name, parseFilter(body.filter));
        return c.json({ deleted: deleted.length, ids: deleted });
      },
    }),
    route({
      method: 'get',
      path: '/v1/collections/{name}/documents',
      operationId: 'listDocuments',
      summary: 'Documents in id order, a page at a time',
      role: 'read',
      response: responses.documentList,
      query: [
        { name: 'limit', description: `Documents per page, 1 to ${MAX_DOCUMENT_PAGE} (default ${DEFAULT_DOCUMENT_PAGE})`, type: 'integer' },
        { name: 'after', description: 'The `next` of the previous page: documents after this id', type: 'string' },
      ],
      handle: (c) => {
        const page = service.listDocuments(param(c, 'name'), { limit: integerParam(c.req.query('limit'), 'limit'), after: c.req.query('after') });
        return c.json({ count: page.count, items: page.items.map(documentView), next: page.next });
      },
    }),
    route({
      method: 'get',
      path: '/v1/collections/{name}/documents/{id}',
      operationId: 'getDocument',
      summary: 'Get a document',
      role: 'read',
      response: responses.document,
      handle: (c) => {
        const doc = service.getDocument(param(c, 'name'), param(c, 'id'));
        if (!doc) throw notFound(param(c, 'name'), param(c, 'id'));
        return c.json({
          id: doc.id,
          text: doc.text,
          title: doc.title,
          metadata: doc.metadata,
          content_hash: doc.contentHash,
          created_at: doc.createdAt,
          updated_at: doc.updatedAt,
        });
      },
    }),
    route({
      method: 'delete',
      path: '/v1/collections/{name}/documents/{id}',
      operationId: 'deleteDocument',
      summary: 'Delete a document',
      role: 'write',
      response: responses.deletedDocuments,
      handle: async (c) => {
        const deleted = await service.deleteDocuments(param(c, 'name'), [param(c, 'id')]);
        if (deleted.length === 0) throw notFound(param(c, 'name'), param(c, 'id'));
        return c.json({ deleted: 1, ids: deleted });
      },
    }),
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/search',
      operationId: 'search',
      summary: 'Dense, keyword or hybrid search',
      role: 'read',
      request: schemas.search,
      response: responses.searchResponse,
      handle: async (c, body) =>
        c.json(
          await service.search(param(c, 'name'), {
            mode: body.mode,
            query: body.query,
            vector: body.vector,
            k: body.k,
            filter: body.filter ? parseFilter(body.filter) : undefined,
            alpha: body.alpha,
            ef: body.ef,
            includeText: body.include_text,
            explain: body.explain,
          }),
        ),
    }),
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/explain',
      operationId: 'explain',
      summary: 'Why one document scores what it does for a query: passages, query words, BM25 terms, fusion',
      role: 'read',
      request: schemas.explain,
      response: responses.explainResponse,
      handle: async (c, body) => c.json(await service.explain(param(c, 'name'), { query: body.query, id: body.id, mode: body.mode })),
    }),
  ];
}
