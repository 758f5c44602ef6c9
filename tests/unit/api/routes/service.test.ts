// Tests src/api/routes/service.ts: /healthz, /readyz, /metrics and /openapi.json, through app.request().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../helpers/app.ts';
import { api, tempDir } from '../../../helpers/server.ts';

describe('readiness, metrics and OpenAPI', () => {
  let app: TestApp;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir('sextant-api-ops-');
    app = await startTestApp({ dataDir: dir.path });
  });

  afterAll(async () => {
    await app?.close();
    await dir?.remove();
  });

  it('/healthz and /readyz', async () => {
    expect(await api(app, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await api<{ status: string; device: string; models: { id: string; device: string }[]; store: string }>(app, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.device).toBe('cpu');
    expect(ready.body.store).toBe('open');
    expect(ready.body.models).toEqual([expect.objectContaining({ device: 'cpu', id: expect.stringMatching(/^use-lite@/) })]);
  });

  it('/metrics counts requests by route and observes embedding batches', async () => {
    const metric = async (): Promise<string> => {
      const res = await api<string>(app, 'GET', '/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      return res.body;
    };
    const counter = (text: string, route: string, method: string, status: string): number => {
      const line = text.split('\n').find((l) => l.startsWith('sextant_http_requests_total{') && l.includes(`route="${route}"`) && l.includes(`method="${method}"`) && l.includes(`status="${status}"`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    expect((await api(app, 'POST', '/v1/collections', { name: 'm' })).status).toBe(201);
    const before = await metric();
    for (let i = 0; i < 3; i++) expect((await api(app, 'POST', '/v1/collections/m/search', { query: `query ${i}` })).status).toBe(200);
    expect((await api(app, 'POST', '/v1/collections/m/search', { query: 'x', k: 'ten' })).status).toBe(400);
    expect((await api(app, 'POST', '/v1/embeddings', { input: ['a', 'b', 'c'] })).status).toBe(200);
    const after = await metric();

    expect(after).toContain('# TYPE sextant_http_requests_total counter');
    expect(counter(after, '/v1/collections/:name/search', 'POST', '200') - counter(before, '/v1/collections/:name/search', 'POST', '200')).toBe(3);
    expect(counter(after, '/v1/collections/:name/search', 'POST', '400') - counter(before, '/v1/collections/:name/search', 'POST', '400')).toBe(1);
    expect(counter(after, '/v1/embeddings', 'POST', '200') - counter(before, '/v1/embeddings', 'POST', '200')).toBe(1);
    expect(counter(after, '/v1/collections', 'POST', '201')).toBe(1);
    // Label values are route patterns, never raw paths (bounded cardinality).
    expect(after).not.toContain('route="/v1/collections/m/search"');

    expect(after).toContain('# TYPE sextant_embed_batch_size histogram');
    expect(after).toMatch(/^sextant_embed_batch_size_bucket\{[^}]*le="\+Inf"[^}]*\} \d+/m);
    expect(after).toMatch(/^sextant_embed_batch_size_count\{[^}]*model="use-lite@[^"]+"[^}]*\} \d+/m);
    expect(after).toContain('sextant_http_request_duration_seconds_bucket');
    expect(after).toMatch(/^sextant_collection_documents\{[^}]*collection="m"[^}]*\} 0$/m);
  });

  it('/openapi.json documents every route', async () => {
    const res = await api<{ openapi: string; info: { title: string }; paths: Record<string, Record<string, unknown>> }>(app, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\.\d+\.\d+$/);
    const expected: Record<string, string[]> = {
      '/healthz': ['get'],
      '/readyz': ['get'],
      '/metrics': ['get'],
      '/openapi.json': ['get'],
      '/v1/admin/backup': ['post'],
      '/v1/whoami': ['get'],
      '/v1/embeddings': ['post'],
      '/v1/models': ['get'],
      '/v1/models/import': ['post'],
      '/v1/models/aliases/{alias}': ['put'],
      '/v1/jobs': ['get'],
      '/v1/jobs/{id}': ['get'],
      '/v1/jobs/{id}/cancel': ['post'],
      '/v1/collections': ['get', 'post'],
      '/v1/collections/{name}': ['delete', 'get', 'patch'],
      '/v1/collections/{name}/reembed': ['post'],
      '/v1/collections/{name}/train': ['post'],
      '/v1/collections/{name}/generations': ['get'],
      '/v1/collections/{name}/rollback': ['post'],
      '/v1/collections/{name}/drift': ['get', 'patch'],
      '/v1/collections/{name}/drift/reference': ['post'],
      '/v1/collections/{name}/eval': ['get', 'post'],
      '/v1/collections/{name}/tune': ['post'],
      '/v1/collections/{name}/eval-set': ['delete', 'get', 'put'],
      '/v1/collections/{name}/feedback': ['delete', 'get', 'post'],
      '/v1/collections/{name}/documents': ['get', 'post'],
      '/v1/collections/{name}/documents/delete': ['post'],
      '/v1/collections/{name}/documents/{id}': ['delete', 'get'],
      '/v1/collections/{name}/search': ['post'],
      '/v1/collections/{name}/explain': ['post'],
      '/v1/collections/{name}/audit': ['post'],
    };
    expect(Object.keys(res.body.paths).sort()).toEqual(Object.keys(expected).sort());
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(res.body.paths[path]!).filter((k) => k !== 'parameters').sort(), path).toEqual(methods);
    }
    const search = res.body.paths['/v1/collections/{name}/search']!.post as {
      requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } };
    };
    expect(Object.keys(search.requestBody.content['application/json'].schema.properties).sort()).toEqual(
      ['alpha', 'ef', 'explain', 'filter', 'include_text', 'k', 'mode', 'query', 'vector'].sort(),
    );
    const create = res.body.paths['/v1/collections']!.post as { responses: Record<string, unknown> };
    expect(Object.keys(create.responses)).toContain('201');
  });
});
