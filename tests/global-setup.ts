/**
 * Converts USE-Lite once per test run into a temporary models dir shared by all test files
 * (conversion is real and takes seconds; doing it per file would dominate the suite).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { convertUseLite } from '../src/models/use-lite/convert.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    modelsDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await mkdtemp(join(tmpdir(), 'sextant-test-models-'));
  await convertUseLite(root);
  project.provide('modelsDir', root);
  return async () => {
    await rm(root, { recursive: true, force: true });
  };
}
