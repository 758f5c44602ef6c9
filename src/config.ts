/**
 * Every setting in one place: environment variables with documented defaults, which CLI
 * flags may override (flags win). README's "Configuration" table mirrors this file.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const positiveInt = z.coerce.number().int().positive();

export const configSchema = z.object({
  /** SEXTANT_MODELS_DIR: where model versions live (`<name>/<version>/manifest.json`). */
  modelsDir: z.string().default('./models'),
  /** SEXTANT_DATA_DIR: SQLite database and index files. */
  dataDir: z.string().default('./indexes'),
  /** SEXTANT_DEVICE: `cpu` or `cuda`. With `cuda` and no usable CUDA provider we log why and run on CPU. */
  device: z.enum(['cpu', 'cuda']).default('cpu'),
  /** SEXTANT_MODEL: model used when a request names none (alias or name@version). */
  defaultModel: z.string().default('default'),
  /** SEXTANT_THREADS: ONNX Runtime intra-op threads (default: all cores). */
  threads: positiveInt.default(availableParallelism()),
  /** SEXTANT_BATCH_TOKENS: padded tokens (batch size x longest text) per inference batch. */
  batchTokens: positiveInt.default(8192),
  /** SEXTANT_BATCH_WAIT_MS: how long the batcher waits for more texts before running a partial batch. */
  batchWaitMs: z.coerce.number().nonnegative().default(2),
  /** SEXTANT_QUEUE_MAX: texts waiting to be embedded before new work is refused as overloaded. */
  queueMax: positiveInt.default(4096),
  /** SEXTANT_HOST / SEXTANT_PORT: where `sextant serve` listens. */
  host: z.string().default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
});

export type Config = z.infer<typeof configSchema>;

const ENV_NAMES: Record<keyof Config, string> = {
  modelsDir: 'SEXTANT_MODELS_DIR',
  dataDir: 'SEXTANT_DATA_DIR',
  device: 'SEXTANT_DEVICE',
  defaultModel: 'SEXTANT_MODEL',
  threads: 'SEXTANT_THREADS',
  batchTokens: 'SEXTANT_BATCH_TOKENS',
  batchWaitMs: 'SEXTANT_BATCH_WAIT_MS',
  queueMax: 'SEXTANT_QUEUE_MAX',
  host: 'SEXTANT_HOST',
  port: 'SEXTANT_PORT',
};

export function envNameOf(key: keyof Config): string {
  return ENV_NAMES[key];
}

/** Builds the configuration from `env`, then `overrides` (CLI flags). Paths are made absolute. */
export function loadConfig(
  overrides: Partial<Record<keyof Config, string | number | undefined>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, envName] of Object.entries(ENV_NAMES)) {
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== '') raw[key] = fromEnv;
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) raw[key] = value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const key = i.path[0] as keyof Config | undefined;
      return `${key ? `${ENV_NAMES[key]} (${String(key)})` : 'config'}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return { ...parsed.data, modelsDir: resolve(parsed.data.modelsDir), dataDir: resolve(parsed.data.dataDir) };
}
