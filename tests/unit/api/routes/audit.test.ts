// Tests src/api/routes/audit.ts: POST /v1/collections/{name}/audit mounted from auditRoutes(deps) (validation, error statuses, the response schema, the OpenAPI entry), over a runtime with tiny BERTs.
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../../src/api/app.ts';
import type { ApiEnv } from '../../../../src/api/env.ts';
import { handleError } from '../../../../src/api/errors.ts';
import { openApiDocument } from '../../../../src/api/openapi.ts';
import * as responses from '../../../../src/api/responses.ts';
import { auditRoutes } from '../../../../src/api/routes/audit.ts';
import { mountRoutes } from '../../../../src/api/route.ts';
import { DOCS, MODEL_A, openEvalFixture, QUERIES, writeMainDataset, type Doc, type EvalFixture } from '../../../helpers/eval-fixture.ts';

const COL = 'r';
let fx: EvalFixture;
let app: Hono<ApiEnv>;
let dataset: string;

beforeAll(async () => {
  fx = await openEvalFixture('audit-route');
  await fx.collection(COL, MODEL_A, DOCS.map((d, i) => ({ ...d, metadata: { half: i < 20 ? 'first' : 'second' } }) as Doc));
  const { deps } = createApp(fx.runtime);
  app = new Hono<ApiEnv>();
  mountRoutes(app, auditRoutes(deps), deps.keys);
  app.onError(handleError);
  dataset = writeMainDataset(fx.path('main'));
});
afterAll(async () => {
  await fx?.close();
});

async function post(body: unknown, name = COL): Promise<{ status: number; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const res = await app.request(`/v1/collections/${name}/audit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } & Record<string, unknown> };
}

const TEXTS = QUERIES.map((q) => q.text);

describe('POST /v1/collections/{name}/audit', () => {
  it('audits query texts and answers the documented shape', async () => {
    const res = await post({ queries: TEXTS, group_by: 'half', mode: 'keyword', k: 5, bootstrap: 100, seed: 3 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const report = responses.auditReport.parse(res.body);
    expect(report).toMatchObject({ collection: COL, group_by: 'half', mode: 'keyword', k: 5, dataset: null, per_query_exposure_sums_to_one: true });
    expect(report.groups.map((g) => g.value).sort()).toEqual(['first', 'second']);
    expect(report.groups.reduce((s, g) => s + g.exposure_share, 0)).toBeCloseTo(1, 12);
    expect(report.bootstrap).toEqual({ resamples: 100, seed: 3, confidence: 0.95 });
  });

  it('audits a BEIR folder on the server, with relevance shares (defaults: dense, k 10)', async () => {
    const res = await post({ dataset, group_by: 'half', bootstrap: 50 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const report = responses.auditReport.parse(res.body);
    expect(report).toMatchObject({ mode: 'dense', k: 10, dataset, missing_judged_documents: 1 });
    for (const g of report.groups) expect(g.relevance_share).not.toBeNull();
  });

  it.each([
    ['an unknown field', { queries: TEXTS, group_by: 'half', colour: 'red' }, /colour|unrecognized/i],
    ['an empty query set', { queries: [], group_by: 'half' }, /query set is empty/],
    ['neither queries nor dataset', { group_by: 'half' }, /either "queries".*or "dataset"/],
    ['both queries and dataset', { queries: TEXTS, dataset: '/tmp', group_by: 'half' }, /either "queries".*or "dataset"/],
    ['a relative dataset path', { dataset: 'beir', group_by: 'half' }, /absolute path/],
    ['no group_by', { queries: TEXTS }, /group_by/],
    ['an unknown mode', { queries: TEXTS, group_by: 'half', mode: 'fuzzy' }, /mode/],
    ['k 0', { queries: TEXTS, group_by: 'half', k: 0 }, /k/],
    ['a group-by field no document has', { queries: TEXTS, group_by: 'year' }, /no document of collection 'r' has metadata field 'year'.*fields its documents have: half/],
    ['a missing BEIR folder', { dataset: '/nonexistent/beir', group_by: 'half' }, /does not exist/],
    ['a compare naming no generation', { queries: TEXTS, group_by: 'half', compare: 'tiny-b@1' }, /no generation for 'tiny-b@1'/],
  ])('400 with a message for %s', async (_, body, message) => {
    const res = await post(body);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error?.code).toBe('invalid_input');
    expect(res.body.error?.message).toMatch(message);
  });

  it('404 for a collection that does not exist', async () => {
    const res = await post({ queries: TEXTS, group_by: 'half' }, 'nope');
    expect(res.status).toBe(404);
    expect(res.body.error?.code).toBe('collection_not_found');
  });

  it('is one admin operation in the OpenAPI document', () => {
    const doc = openApiDocument(auditRoutes(createApp(fx.runtime).deps), 'test') as { paths: Record<string, Record<string, { operationId: string }>> };
    expect(Object.keys(doc.paths)).toEqual(['/v1/collections/{name}/audit']);
    expect(doc.paths['/v1/collections/{name}/audit']!.post!.operationId).toBe('audit');
    expect(auditRoutes(createApp(fx.runtime).deps).map((r) => [r.method, r.path, r.role])).toEqual([['post', '/v1/collections/{name}/audit', 'admin']]);
  });
});
