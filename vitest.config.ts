import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Where the tests are:
 *
 * - tests/unit/ mirrors src/: one file per module (tests/unit/store/jobs.test.ts tests
 *   src/store/jobs.ts). Routes are tested through `app.request()` (tests/helpers/app.ts).
 * - tests/acceptance/: the product's promises end to end: real datasets, kill -9, child
 *   processes, SDKs over sockets.
 * - tests/helpers/, tests/fakes/, tests/fixtures/: what the tests share.
 *
 * Projects group the files by what they cost, not by folder, so the 2-core machine stays busy
 * without thrashing: pure-logic files two at a time first, then the files that load the real
 * USE-Lite model (one at a time) beside the files that take a copy of the prebuilt datasets (one
 * at a time). A file's project follows from what it uses (below), so new files land right.
 */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f))
    .sort();
}

const source = (file: string) => readFileSync(file, 'utf8');
/** Uses the prebuilt dataset directories (tests/helpers/datasets.ts). */
const usesDatasets = (file: string) => source(file).includes('helpers/datasets.ts');
/** Needs the converted USE-Lite model: a server, an app, or the global setup's models dir. */
const usesModel = (file: string) => /helpers\/(server|app|drift-app)\.ts|inject\(/.test(source(file));

const ALL = [...testFiles('tests/unit'), ...testFiles('tests/acceptance')];
const DATASETS = ALL.filter(usesDatasets);
const MODELS = ALL.filter((f) => !usesDatasets(f) && usesModel(f));
const UNIT = ALL.filter((f) => !DATASETS.includes(f) && !MODELS.includes(f));

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: UNIT, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        // Real ONNX models, the TF.js reference, child servers: one file at a time, or a 2-core
        // machine thrashes.
        extends: true,
        test: { name: 'models', include: MODELS, globalSetup: ['tests/global-setup.ts'], maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
      {
        // As `models`, and the global setup indexes the shared datasets once (only when a file of
        // this project runs).
        extends: true,
        test: { name: 'datasets', include: DATASETS, globalSetup: ['tests/global-setup.ts'], maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
