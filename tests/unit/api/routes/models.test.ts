// Tests src/api/routes/models.ts: GET /v1/models, model import and aliases, through app.request().
import { describe, expect, it } from 'vitest';
import { BACKENDS, useCorpusApp } from '../../../helpers/api-corpus.ts';
import { expectError, LIMITS, useSeededApp } from '../../../helpers/api-errors.ts';
import { startTestApp } from '../../../helpers/app.ts';

describe.each(BACKENDS)('model routes on the %s backend', (backend) => {
  const { call, info, COLLECTION: CORPUS_COLLECTION } = useCorpusApp(backend, (overrides) => startTestApp(overrides));

  it('lists models', async () => {
    const res = await call<{ object: string; data: { id: string; object: string; dimensions: number; aliases: string[]; collections: string[] }[] }>('GET', '/v1/models');
    expect(res.status).toBe(200);
    expect(res.body.object).toBe('list');
    const model = res.body.data.find((m) => m.aliases.includes('default'));
    expect(model).toMatchObject({ object: 'model', dimensions: 512 });
    expect(model!.id).toBe((await info(CORPUS_COLLECTION)).model);
    expect(model!.collections).toContain(CORPUS_COLLECTION);
  });
});

describe('bad requests to model administration', () => {
  const { call, expectIntact } = useSeededApp('sextant-models-errors-', (dataDir) => startTestApp({ dataDir, ...LIMITS }));

  it('model administration rejects bad input and changes nothing', async () => {
    const before = (await call('GET', '/v1/models')).body as { data: { id: string; aliases: string[] }[] };
    expect(before.data.flatMap((m) => m.aliases)).toContain('default');
    expectError(await call('PUT', '/v1/models/aliases/bad@alias', { target: 'use-lite@1' }), 400, 'invalid_input');
    expectError(await call('PUT', '/v1/models/aliases/staging', { target: 'nope@9' }), 404, 'model_not_found');
    expectError(await call('PUT', '/v1/models/aliases/staging', {}), 400, 'invalid_input');
    expectError(await call('POST', '/v1/models/import', { path: '/does/not/exist', name: 'x' }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/models/import', { path: '/tmp', name: 'bad name' }), 400, 'invalid_input');
    const models = (await call('GET', '/v1/models')).body as { data: { id: string; aliases: string[] }[] };
    expect(models.data).toEqual(before.data);
    await expectIntact();
  });
});
