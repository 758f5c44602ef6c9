/** Opens an engine for a model reference using the configuration: the one way faces get an engine. */
import type { Config } from '../config.ts';
import { ensureDefaultModel, refersToDefault } from '../models/default-model.ts';
import { ModelRegistry } from '../models/registry.ts';
import { EmbeddingEngine } from './engine.ts';

export function openRegistry(config: Pick<Config, 'modelsDir'>): ModelRegistry {
  return new ModelRegistry(config.modelsDir);
}

export async function openEngine(config: Config, ref: string = config.defaultModel, registry = openRegistry(config)): Promise<EmbeddingEngine> {
  if (refersToDefault(ref)) await ensureDefaultModel(registry);
  const version = await registry.resolve(ref);
  return EmbeddingEngine.load(
    version,
    {
      device: config.device,
      threads: config.threads,
      batchTokens: config.batchTokens,
      batchWaitMs: config.batchWaitMs,
      queueMax: config.queueMax,
    },
    registry,
  );
}
