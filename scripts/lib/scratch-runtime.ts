/**
 * A whole Sextant runtime on a temporary folder, for measurement scripts: use-lite@1 converted
 * into its models folder (copied from SEXTANT_MODELS_DIR/use-lite when that holds one, which
 * saves the conversion), jobs not started, everything removed afterwards.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { convertUseLite } from '../../src/models/use-lite/convert.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';

export async function withScratchRuntime<T>(name: string, threads: number, use: (runtime: Runtime) => Promise<T>): Promise<T> {
  const root = mkdtempSync(join(tmpdir(), `sextant-${name}-`));
  try {
    const modelsDir = join(root, 'models');
    const source = process.env.SEXTANT_MODELS_DIR ? resolve(process.env.SEXTANT_MODELS_DIR, 'use-lite') : undefined;
    if (source && existsSync(source)) cpSync(source, join(modelsDir, 'use-lite'), { recursive: true });
    await convertUseLite(modelsDir);
    const runtime = await openRuntime(loadConfig({ modelsDir, dataDir: join(root, 'data'), threads }, {}), { startJobs: false });
    try {
      return await use(runtime);
    } finally {
      await runtime.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
