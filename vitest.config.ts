import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Tests load real ONNX models and the TF.js reference; running files one at a time keeps
    // a 2-core machine from thrashing.
    fileParallelism: false,
  },
});
