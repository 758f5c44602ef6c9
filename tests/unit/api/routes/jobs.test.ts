// Tests src/api/routes/jobs.ts: re-embedding, rollback and job routes, through app.request().
import { describe, it } from 'vitest';
import { expectError, LIMITS, useSeededApp } from '../../../helpers/api-errors.ts';
import { startTestApp } from '../../../helpers/app.ts';

describe('bad requests to re-embedding, rollback and jobs', () => {
  const { COL, call, expectIntact } = useSeededApp('sextant-jobs-errors-', (dataDir) => startTestApp({ dataDir, ...LIMITS }));

  it('rollback without an earlier generation, a bad re-embedding request and an unknown job change nothing', async () => {
    expectError(await call('POST', `/v1/collections/${COL}/rollback`), 409, 'conflict');
    expectError(await call('POST', `/v1/collections/${COL}/reembed`, { model: 42 }), 400, 'invalid_input');
    expectError(await call('POST', '/v1/jobs/nope/cancel'), 404, 'job_not_found');
    await expectIntact();
  });
});
