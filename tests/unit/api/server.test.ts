// Tests src/api/server.ts: startup safety (no public bind without API keys); needs a real listening server.
import { describe, expect, inject, it } from 'vitest';
import { startServer } from '../../../src/api/server.ts';
import { loadConfig } from '../../../src/config.ts';
import { ConfigError } from '../../../src/errors.ts';
import { api, tempDir } from '../../helpers/server.ts';

describe('startup safety', () => {
  it('refuses to bind a public address without API keys', async () => {
    const dir = await tempDir('sextant-api-public-');
    try {
      for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
        const config = loadConfig({ host, port: 0, dataDir: dir.path, modelsDir: inject('modelsDir') }, {});
        const attempt = startServer(config);
        await expect(attempt, host).rejects.toBeInstanceOf(ConfigError);
        await expect(attempt, host).rejects.toThrow(/SEXTANT_API_KEYS/);
      }
      // Nothing was left holding the data dir: a loopback server can start on it.
      const ok = await startServer(loadConfig({ host: '127.0.0.1', port: 0, dataDir: dir.path, modelsDir: inject('modelsDir') }, {}));
      expect((await api(ok.url, 'GET', '/healthz')).status).toBe(200);
      await ok.close();
    } finally {
      await dir.remove();
    }
  });
});
