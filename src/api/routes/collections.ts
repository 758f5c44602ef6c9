/** Collections, their documents and search: /v1/collections/… */
import { Hono } from 'hono';
import { DocumentNotFoundError } from '../../errors.ts';
import { parseFilter } from '../../values/filter.ts';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { ApiDeps, ApiEnv } from '../env.ts';

export function collectionsRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const { service, schemas, keys } = deps;
  const app = new Hono<ApiEnv>();
  const read = requireRole(keys, 'read');
  const write = requireRole(keys, 'write');
  const admin = requireRole(keys, 'admin');

  app.post('/', write, async (c) => {
    const body = await readJson(c, schemas.createCollection);
    const info = await service.createCollection({
      name: body.name,
      model: body.model,
      backend: body.backend,
      hnsw: body.hnsw,
      hybridAlpha: body.hybrid_alpha,
    });
    return c.json(info, 201);
  });

  app.get('/', read, (c) => c.json({ collections: service.listCollections() }));
  app.get('/:name', read, (c) => c.json(service.info(c.req.param('name'))));

  app.patch('/:name', admin, async (c) => {
    const body = await readJson(c, schemas.updateCollection);
    return c.json(
      await service.updateCollection(c.req.param('name'), {
        target: body.target,
        hybridAlpha: body.hybrid_alpha,
        efSearch: body.hnsw?.efSearch,
        settings: body.policy === undefined ? undefined : { policy: body.policy },
      }),
    );
  });

  app.delete('/:name', admin, async (c) => {
    await service.deleteCollection(c.req.param('name'));
    return c.json({ deleted: c.req.param('name') });
  });

  app.post('/:name/documents', write, async (c) => {
    const body = await readJson(c, schemas.upsertDocuments);
    const result = await service.upsertDocuments(c.req.param('name'), body.documents);
    return c.json({ ...result, count: body.documents.length });
  });

  app.post('/:name/documents/delete', write, async (c) => {
    const body = await readJson(c, schemas.deleteDocuments);
    const name = c.req.param('name');
    const deleted = 'ids' in body ? await service.deleteDocuments(name, body.ids) : await service.deleteByFilter(name, parseFilter(body.filter));
    return c.json({ deleted: deleted.length, ids: deleted });
  });

  app.get('/:name/documents/:id', read, (c) => {
    const doc = service.getDocument(c.req.param('name'), c.req.param('id'));
    if (!doc) throw new DocumentNotFoundError(`document '${c.req.param('id')}' not found in collection '${c.req.param('name')}'`);
    return c.json({
      id: doc.id,
      text: doc.text,
      title: doc.title,
      metadata: doc.metadata,
      content_hash: doc.contentHash,
      created_at: doc.createdAt,
      updated_at: doc.updatedAt,
    });
  });

  app.delete('/:name/documents/:id', write, async (c) => {
    const deleted = await service.deleteDocuments(c.req.param('name'), [c.req.param('id')]);
    if (deleted.length === 0) throw new DocumentNotFoundError(`document '${c.req.param('id')}' not found in collection '${c.req.param('name')}'`);
    return c.json({ deleted: 1, ids: deleted });
  });

  app.post('/:name/search', read, async (c) => {
    const body = await readJson(c, schemas.search);
    return c.json(
      await service.search(c.req.param('name'), {
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
    );
  });
  return app;
}
