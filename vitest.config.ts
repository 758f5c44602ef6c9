import { defineConfig } from 'vitest/config';

/**
 * Pure-logic files: no USE-Lite model, no server, no dataset (the tiny BERT files build a model
 * of a few hundred KB). They run two at a time, before everything else.
 */
const UNIT = [
  'tests/batcher.test.ts',
  'tests/drift-policy.test.ts',
  'tests/drift-stats.test.ts',
  'tests/durable-write.test.ts',
  'tests/hf-engine.test.ts',
  'tests/store.test.ts',
  'tests/store/**/*.test.ts',
  'tests/tiny-bert.test.ts',
  'tests/tokenizer.test.ts',
  'tests/worker-rpc.test.ts',
];

/** Files that take a copy of the prebuilt dataset directories (tests/helpers/datasets.ts). */
const DATASETS = ['tests/eval.test.ts', 'tests/retrieval.test.ts', 'tests/reembed.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Everything else loads real ONNX models, the TF.js reference, or a child server: one file
        // at a time, or a 2-core machine thrashes. New test files land here by default.
        extends: true,
        test: {
          name: 'models',
          include: ['tests/**/*.test.ts'],
          exclude: [...UNIT, ...DATASETS],
          globalSetup: ['tests/global-setup.ts'],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Same as `models`, plus the global setup indexes the shared datasets once (only when a
        // file of this project runs).
        extends: true,
        test: {
          name: 'datasets',
          include: DATASETS,
          globalSetup: ['tests/global-setup.ts'],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
