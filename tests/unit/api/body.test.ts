// Tests src/api/body.ts: reading JSON request bodies (malformed, empty and non-object bodies), through app.request().
import { describe, expect, it } from 'vitest';
import { expectError, LIMITS, useSeededApp } from '../../helpers/api-errors.ts';
import { startTestApp } from '../../helpers/app.ts';

describe('request bodies', () => {
  const { COL, call, upsertRaw, searchRaw, expectIntact } = useSeededApp('sextant-body-', (dataDir) => startTestApp({ dataDir, ...LIMITS }));

  it('malformed JSON, empty and non-object bodies', async () => {
    for (const raw of ['{"documents": [', '{documents: []}', "{'a': 1}", 'not json', '{"documents": []} trailing']) {
      const err = expectError(await upsertRaw(raw), 400, 'invalid_input');
      expect(err.message).toContain('not valid JSON');
      expectError(await searchRaw(raw), 400, 'invalid_input');
      expectError(await call('POST', '/v1/collections', raw), 400, 'invalid_input');
      expectError(await call('POST', '/v1/embeddings', raw), 400, 'invalid_input');
    }
    expectError(await upsertRaw(''), 400, 'invalid_input');
    expectError(await call('POST', `/v1/collections/${COL}/documents`), 400, 'invalid_input');
    for (const raw of ['null', '[]', '42', '"text"', 'true']) {
      expectError(await upsertRaw(raw), 400, 'invalid_input');
      expectError(await searchRaw(raw), 400, 'invalid_input');
    }
    await expectIntact();
  });
});
