/**
 * The composition root: the server and the CLI commands that open a data directory run the
 * same system, drift monitoring included.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { mulberry32 } from '../../src/util/random.ts';
import { CLI, tempDir } from '../helpers/server.ts';

const run = promisify(execFile);
const WORDS = 'wing flutter boundary layer shock wave heat transfer laminar turbulent flow pressure nozzle supersonic panel vibration cylinder plate velocity profile'.split(' ');

function documents(n: number, seed: number): string {
  const random = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const words = Array.from({ length: 12 }, () => WORDS[Math.floor(random() * WORDS.length)]!);
    return JSON.stringify({ _id: `doc-${i}`, text: words.join(' ') });
  }).join('\n');
}

describe('runtime', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a local `sextant index` (no server) records drift windows, as the server does', async () => {
    const dir = await tempDir('sextant-runtime-');
    cleanups.push(dir.remove);
    const file = join(dir.path, 'docs.jsonl');
    // 200 documents make the reference (documents.min_reference), the next 100 one window.
    await writeFile(file, documents(300, 11));
    const dataDir = join(dir.path, 'data');
    await run(process.execPath, [CLI, 'index', 'local', file, '--batch-size', '100'], {
      env: { ...process.env, SEXTANT_MODELS_DIR: inject('modelsDir'), SEXTANT_DATA_DIR: dataDir },
    });
    const store = SqliteStore.open(dataDir);
    try {
      expect(store.countDocuments('local')).toBe(300);
      expect(store.getDriftReference('local', 'documents')?.vectors.length).toBeGreaterThan(0);
      const windows = store.listDriftHistory('local', { kind: 'documents' });
      expect(windows.length).toBeGreaterThanOrEqual(1);
      expect(windows[0]!.state).toBe('ok');
    } finally {
      store.close();
    }
  });

  it('one runtime holds search, jobs, drift and policy; close unlocks the data directory', async () => {
    const dir = await tempDir('sextant-runtime-');
    cleanups.push(dir.remove);
    const config = loadConfig({ modelsDir: inject('modelsDir'), dataDir: dir.path }, {});
    const runtime = await openRuntime(config, { warmModel: config.defaultModel });
    expect(runtime.service.engines.loaded().map((e) => e.id)).toEqual(['use-lite@1']);
    await runtime.service.createCollection({ name: 'c' });
    await runtime.service.upsertDocuments('c', [{ id: 'a', text: 'wing flutter' }]);
    await runtime.service.search('c', { mode: 'dense', query: 'flutter', k: 1 });
    expect(runtime.lifecycle.drift.status('c', 5).kinds.queries.collecting).toBe(1);
    expect((await runtime.lifecycle.policy.assess('c')).mode).toBe('notify');
    await runtime.close();
    await runtime.close(); // idempotent
    const again = await openRuntime(config);
    expect(again.service.listCollections().map((c) => c.name)).toEqual(['c']);
    await again.close();
  });
});
