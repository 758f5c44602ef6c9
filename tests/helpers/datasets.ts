/**
 * Private copies of the shared IR datasets, already indexed: the global setup indexes each
 * dataset once per run (tests/global-setup.ts, tests/helpers/dataset-build.ts) and a test copies
 * that data directory (SQLite database, HNSW snapshot) into a fresh temp dir it may change at
 * will. The copy opens like any data directory (SearchService.open, openRuntime, `sextant serve`).
 *
 * A file run outside the `datasets` project (no prebuilt directory provided) builds its own once
 * per worker, the same way (under the run's scratch dir), so every test file stays runnable on
 * its own wherever vitest.config.ts puts it.
 */
import { rmSync } from 'node:fs';
import { cp, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import { datasetDir } from '../../scripts/lib/beir.ts';
import { indexDataset, type DatasetName } from './dataset-build.ts';
import { tempDir } from './server.ts';

export type { DatasetName } from './dataset-build.ts';

export type TempDir = Awaited<ReturnType<typeof tempDir>>;

const built = new Map<DatasetName, Promise<string>>();

function prebuilt(name: DatasetName): Promise<string> {
  const provided = (inject('datasetDataDirs') as Record<string, string> | undefined)?.[name];
  if (provided) return Promise.resolve(provided);
  let dir = built.get(name);
  if (!dir) {
    dir = (async () => {
      // Under the run's scratch dir (the global setup removes it); a bare tmp dir otherwise.
      const scratch = inject('scratchDir') as string | undefined;
      const home = scratch ? await mkdtemp(join(scratch, `dataset-${name}-`)) : (await tempDir(`sextant-dataset-${name}-`)).path;
      if (!scratch) process.once('exit', () => rmSync(home, { recursive: true, force: true }));
      const dataDir = join(home, 'data');
      await indexDataset(name, dataDir, inject('modelsDir'));
      return dataDir;
    })();
    built.set(name, dir);
  }
  return dir;
}

/**
 * A fresh data directory holding dataset `name` indexed into collection `name` (generation 1,
 * the default model), or undefined when the dataset is absent. Remove it when done.
 */
export async function datasetDataDir(name: DatasetName, prefix = `sextant-${name}-`): Promise<TempDir | undefined> {
  if (!datasetDir(name)) return undefined;
  const source = await prebuilt(name);
  const copy = await tempDir(prefix);
  await cp(source, copy.path, { recursive: true });
  return copy;
}

/** Copies one data directory into a fresh temp dir (e.g. a per-test copy of a directory a file built in beforeAll). */
export async function copyDataDir(source: string, prefix: string): Promise<TempDir> {
  const copy = await tempDir(prefix);
  await cp(source, copy.path, { recursive: true });
  return copy;
}
