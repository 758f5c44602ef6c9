// Acceptance: PINECONE_TIMEOUT_MS bounds requests on the server's own path (config -> runtime -> index factory).
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { startServer } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config.ts';
import { setLogLevel } from '../../src/log.ts';
import { startFakePinecone, type FakePinecone } from '../fakes/pinecone-server.ts';
import { api, tempDir } from '../helpers/server.ts';

let fake: FakePinecone;
beforeEach(async () => {
  // The server embeds with USE-Lite (512 dimensions).
  fake = await startFakePinecone({ dimension: 512, apiKey: 'pc-test-key' });
});
afterEach(async () => {
  await fake.close();
});

describe('PINECONE_TIMEOUT_MS over HTTP', () => {
  it('bounds search and upsert over HTTP through the server configuration, and they succeed once Pinecone answers in time', async () => {
    const dir = await tempDir('sextant-pinecone-timeout-');
    setLogLevel('warn');
    const config = loadConfig(
      { modelsDir: inject('modelsDir'), dataDir: dir.path, host: '127.0.0.1', port: 0 },
      { PINECONE_API_KEY: fake.apiKey, PINECONE_INDEX_HOST: fake.url, PINECONE_TIMEOUT_MS: '200' },
    );
    expect(config.pineconeTimeoutMs).toBe(200);
    const server = await startServer(config);
    try {
      const docs = [
        { id: 'a', text: 'The telescope revealed distant galaxies in the night sky.' },
        { id: 'b', text: 'Fresh bread and butter for breakfast.' },
      ];
      const more = [{ id: 'c', text: 'The rocket put a satellite into orbit.' }];
      const searchBody = { mode: 'dense', query: 'stars and galaxies', k: 2 };
      expect((await api(server.url, 'POST', '/v1/collections', { name: 'slow', backend: 'pinecone' })).status).toBe(201);
      expect((await api(server.url, 'POST', '/v1/collections/slow/documents', { documents: docs })).status).toBe(200);
      expect((await api(server.url, 'POST', '/v1/collections/slow/search', searchBody)).status).toBe(200);

      fake.delayAnswers(2_000);
      const before = fake.requests.length;
      const search = await api<{ error: { code: string; message: string } }>(server.url, 'POST', '/v1/collections/slow/search', searchBody);
      // Pinecone's answer (2 s after the request) was still pending when the 503 came back: the
      // request failed at its own deadline, before the backend answered.
      expect(fake.pendingAnswers()).toBe(1);
      expect(search.status).toBe(503);
      expect(search.body).toMatchObject({ error: { code: 'backend_unavailable' } });
      expect(search.body.error.message).toContain('timed out after 200 ms');
      // One attempt: a timeout is not retried, and the deadline covers any retry, so the SDK's
      // DEFAULT_PINECONE_MAX_RETRIES cannot multiply it.
      expect(fake.requests.slice(before).map((r) => r.path)).toEqual(['/query']);

      const upsert = await api<{ error: { code: string; message: string } }>(server.url, 'POST', '/v1/collections/slow/documents', { documents: more });
      expect(fake.pendingAnswers()).toBeGreaterThanOrEqual(1);
      expect(upsert.status).toBe(503);
      expect(upsert.body).toMatchObject({ error: { code: 'backend_unavailable' } });

      fake.delayAnswers(0);
      const ok = await api<{ results: { id: string }[] }>(server.url, 'POST', '/v1/collections/slow/search', searchBody);
      expect(ok.status).toBe(200);
      expect(ok.body.results[0]?.id).toBe('a');
      const written = await api<{ upserted: number }>(server.url, 'POST', '/v1/collections/slow/documents', { documents: more });
      expect(written.status).toBe(200);
      expect(written.body.upserted).toBe(1);
      const after = await api<{ results: { id: string }[] }>(server.url, 'POST', '/v1/collections/slow/search', { ...searchBody, k: 3 });
      expect(after.body.results.map((h) => h.id).sort()).toEqual(['a', 'b', 'c']);
    } finally {
      await server.close();
      await dir.remove();
    }
  });
});
