// Tests src/api/rate-limit.ts (SEXTANT_RATE_LIMIT per client) and overload (a full embedding queue): 429 with Retry-After, through app.request().
import { describe, expect, it } from 'vitest';
import { expectError } from '../../helpers/api-errors.ts';
import { startTestApp } from '../../helpers/app.ts';
import { api, tempDir } from '../../helpers/server.ts';

/** Calls `attempt` until `done` holds for its result (every `intervalMs`), giving up after `timeoutMs`; returns every result, in order. */
async function pollUntil<T>(attempt: () => Promise<T>, done: (value: T) => boolean, { timeoutMs = 10_000, intervalMs = 20 } = {}): Promise<T[]> {
  const deadline = performance.now() + timeoutMs;
  const seen: T[] = [await attempt()];
  while (!done(seen.at(-1)!) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
    seen.push(await attempt());
  }
  return seen;
}

describe('rate limiting and overload', () => {
  it('a burst over SEXTANT_RATE_LIMIT gets 429 with Retry-After, and service resumes after it', async () => {
    const dir = await tempDir('sextant-api-rate-');
    const app = await startTestApp({ dataDir: dir.path, rateLimit: 2 });
    try {
      // Fired together, so refill during the burst stays negligible even on a busy machine.
      const burst = await Promise.all(Array.from({ length: 10 }, () => api(app, 'GET', '/v1/collections')));
      const statuses = burst.map((r) => r.status);
      const limited = burst.find((r) => r.status === 429);
      // Burst is twice the rate (4), refilled at 2/s: 4 pass (5 if the burst straddled a refill).
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(4);
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
      expect(statuses.filter((s) => s === 429).length).toBe(10 - statuses.filter((s) => s === 200).length);
      const err = expectError(limited!, 429, 'rate_limited');
      expect(err.message).toContain('2 requests/s');
      expect(limited!.headers.get('retry-after')).toBe('1');
      // Health checks are not rate limited.
      expect((await api(app, 'GET', '/healthz')).status).toBe(200);
      // Anonymous clients are limited per socket address: another client is not held back.
      const other = await app.request('/v1/collections', {}, '192.0.2.7');
      expect(other.status).toBe(200);
      // Service resumes once the bucket has refilled: until then every answer is the same 429.
      const tries = await pollUntil(
        () => api(app, 'GET', '/v1/collections'),
        (r) => r.status !== 429,
      );
      for (const r of tries.slice(0, -1)) expectError(r, 429, 'rate_limited');
      expect(tries.at(-1)!.status).toBe(200);
    } finally {
      await app.close();
      await dir.remove();
    }
  });

  it('a full embedding queue answers 429 overloaded with Retry-After and writes nothing', async () => {
    const dir = await tempDir('sextant-api-overload-');
    const app = await startTestApp({ dataDir: dir.path, queueMax: 1 });
    try {
      const call = (method: string, path: string, body?: unknown) => api(app, method, path, body);
      expect((await call('POST', '/v1/collections', { name: 'busy' })).status).toBe(201);
      const documents = Array.from({ length: 8 }, (_, i) => ({ id: `doc${i}`, text: `document number ${i} about something` }));
      const res = await call('POST', '/v1/collections/busy/documents', { documents });
      const err = expectError(res, 429, 'overloaded');
      expect(err.message).toContain('queue');
      expect(res.headers.get('retry-after')).toBe('1');
      expect((await call('GET', '/v1/collections/busy')).body).toMatchObject({ document_count: 0 });
      expect((await call('GET', '/v1/collections/busy/documents/doc0')).status).toBe(404);
      expectError(await call('POST', '/v1/embeddings', { input: ['one', 'two', 'three'] }), 429, 'overloaded');
      // Work that fits the queue still goes through.
      expect((await call('POST', '/v1/collections/busy/documents', { documents: documents.slice(0, 1) })).status).toBe(200);
      expect((await call('POST', '/v1/collections/busy/search', { query: 'document', k: 5 })).status).toBe(200);
      expect((await call('GET', '/v1/collections/busy')).body).toMatchObject({ document_count: 1 });
      expect((await call('GET', '/healthz')).status).toBe(200);
    } finally {
      await app.close();
      await dir.remove();
    }
  });
});
