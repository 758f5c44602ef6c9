/**
 * Once per test run, in the vitest main process:
 *
 * - converts USE-Lite into a temporary models dir shared by all test files (conversion is real
 *   and takes seconds; doing it per file would dominate the suite), provided as
 *   `inject('modelsDir')`;
 * - for the `datasets` project only (see vitest.config.ts): indexes each shared IR dataset
 *   (../shared/datasets/{cranfield,cisi}) that the run's files use into its own data directory,
 *   provided as `inject('datasetDataDirs')`. Tests take a private copy with `datasetDataDir()`
 *   (tests/helpers/datasets.ts) instead of embedding the corpus themselves. Datasets that are
 *   absent are skipped (the tests that need them skip with a message).
 *
 * Several projects use this file; each gets its own module instance, so the conversion is shared
 * through a process-wide promise and removed by the last teardown.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { convertUseLite } from '../src/models/use-lite/convert.ts';
import { buildDatasetDataDirs, DATASET_NAMES, DATASETS_PROJECT, type DatasetName } from './helpers/dataset-build.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    modelsDir: string;
    /** Dataset name -> prebuilt data directory (only in the `datasets` project; only datasets present). */
    datasetDataDirs: Record<string, string>;
    /** An empty directory for this run, removed at the end (for what workers build for themselves). */
    scratchDir: string;
  }
}

interface SharedModels {
  dir: Promise<string>;
  users: number;
}

const KEY = Symbol.for('sextant.test.sharedModels');
const shared = globalThis as typeof globalThis & { [KEY]?: SharedModels };

async function convertOnce(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sextant-test-models-'));
  await convertUseLite(root);
  return root;
}

/**
 * The datasets this run's files of `project` name (a quoted 'cranfield' or 'cisi' in their
 * source), so that running one file builds only what it uses; all of them when the run's files
 * cannot be told. A dataset missed here is still built, by the file's own worker (datasets.ts).
 */
function datasetsWanted(project: TestProject): DatasetName[] {
  let paths: string[] = [];
  try {
    paths = project.vitest.state.getPaths().filter((p) => project.matchesTestGlob(p));
  } catch {
    // The state API is experimental: fall back to every dataset.
  }
  if (paths.length === 0) return [...DATASET_NAMES];
  const sources = paths.map((p) => readFileSync(p, 'utf8')).join('\n');
  return DATASET_NAMES.filter((name) => sources.includes(`'${name}'`));
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const models = (shared[KEY] ??= { dir: convertOnce(), users: 0 });
  models.users++;
  const modelsDir = await models.dir;
  project.provide('modelsDir', modelsDir);
  const scratchDir = await mkdtemp(join(tmpdir(), 'sextant-test-scratch-'));
  project.provide('scratchDir', scratchDir);

  let datasetsRoot: string | undefined;
  if (project.name === DATASETS_PROJECT) {
    datasetsRoot = await mkdtemp(join(tmpdir(), 'sextant-test-datasets-'));
    const started = Date.now();
    const wanted = datasetsWanted(project);
    const built = await buildDatasetDataDirs(datasetsRoot, modelsDir, wanted);
    const names = Object.keys(built);
    if (names.length > 0) console.log(`global setup: indexed ${names.join(', ')} once for this run (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    const absent = wanted.filter((n) => !names.includes(n));
    if (absent.length > 0) console.log(`global setup: ${absent.join(', ')} not found under ../shared/datasets; the tests that need it skip`);
    project.provide('datasetDataDirs', built);
  }

  return async () => {
    await rm(scratchDir, { recursive: true, force: true });
    if (datasetsRoot) await rm(datasetsRoot, { recursive: true, force: true });
    if (--models.users === 0) {
      delete shared[KEY];
      await rm(modelsDir, { recursive: true, force: true });
    }
  };
}
