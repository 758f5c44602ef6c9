/**
 * Every setting in one place: environment variables with documented defaults, which CLI
 * flags may override (flags win). README's "Configuration" table mirrors this file.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const positiveInt = z.coerce.number().int().positive();

/** Default of PINECONE_TIMEOUT_MS (README, Configuration). */
export const DEFAULT_PINECONE_TIMEOUT_MS = 10_000;

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
  /** SEXTANT_BATCH_WAIT_MS: longest the batcher waits for more texts before running a partial batch (never longer than the model's recent batches took). */
  batchWaitMs: z.coerce.number().nonnegative().default(2),
  /** SEXTANT_QUEUE_MAX: texts waiting to be embedded before new work is refused as overloaded. */
  queueMax: positiveInt.default(4096),
  /** SEXTANT_HOST / SEXTANT_PORT: where `sextant serve` listens. */
  host: z.string().default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** SEXTANT_API_KEYS: `key:role` pairs, comma-separated; roles read < write < admin. Empty: loopback only, no auth. */
  apiKeys: z.string().default(''),
  /** SEXTANT_RATE_LIMIT: requests per second per API key (or per client address without keys); 0 = off. */
  rateLimit: z.coerce.number().nonnegative().default(0),
  /** SEXTANT_MAX_BODY_BYTES: largest request body accepted. */
  maxBodyBytes: positiveInt.default(16 * 1024 * 1024),
  /** SEXTANT_MAX_DOCS_PER_REQUEST: documents per upsert or ids per delete request. */
  maxDocsPerRequest: positiveInt.default(1000),
  /** SEXTANT_MAX_TEXT_CHARS: characters per document or query text. */
  maxTextChars: positiveInt.default(100_000),
  /** SEXTANT_MAX_K: largest `k` a search may ask for. */
  maxK: positiveInt.default(1000),
  /** SEXTANT_SNAPSHOT_CHANGES / SEXTANT_SNAPSHOT_SECONDS: HNSW snapshot after this many changes or seconds. */
  snapshotChanges: positiveInt.default(1000),
  snapshotSeconds: positiveInt.default(30),
  /** SEXTANT_HYBRID_ALPHA: default dense weight of hybrid search for new collections (0 keyword .. 1 dense). */
  hybridAlpha: z.coerce.number().min(0).max(1).default(0.3),
  /** SEXTANT_REEMBED_BATCH: documents per re-embedding batch. */
  reembedBatch: positiveInt.default(64),
  /**
   * SEXTANT_REEMBED_DUTY: share of time a re-embedding job may compute (0 < duty <= 1); it
   * sleeps the rest, and also yields while live searches wait for the embedding engine.
   */
  reembedDuty: z.coerce.number().gt(0).max(1).default(0.5),
  /** SEXTANT_RETENTION_SECONDS: how long a replaced generation is kept for rollback. */
  retentionSeconds: z.coerce.number().int().nonnegative().default(7 * 24 * 3600),
  /**
   * SEXTANT_POLICY_COOLDOWN_SECONDS: the policy does not start a re-embedding to the same target,
   * or a training on the same base, again within this time (a failed job is not retried in a loop).
   */
  policyCooldownSeconds: z.coerce.number().int().nonnegative().default(3600),
  /**
   * SEXTANT_POLICY_REVIEW_SECONDS: besides on every drift state change, the policy reviews every
   * collection this often (a moved target, growth since the last training); 0 = only on state changes.
   */
  policyReviewSeconds: z.coerce.number().int().nonnegative().default(60),
  /** SEXTANT_URL: CLI commands talk to this running server instead of opening the data dir. */
  url: z.string().url().optional(),
  /** SEXTANT_API_KEY: the key CLI commands send to a server (Authorization: Bearer). */
  apiKey: z.string().optional(),
  /** PINECONE_API_KEY, PINECONE_INDEX_HOST or PINECONE_INDEX, PINECONE_CONTROLLER_HOST: the `pinecone` backend. */
  pineconeApiKey: z.string().optional(),
  pineconeIndexHost: z.string().optional(),
  pineconeIndex: z.string().optional(),
  pineconeControllerHost: z.string().optional(),
  /**
   * PINECONE_TIMEOUT_MS: limit for each Pinecone operation (upsert, query, delete, fetch, stats,
   * describe), the SDK's retries and their backoff included; past it the operation fails with
   * backend_unavailable (HTTP 503). Default 10000.
   */
  pineconeTimeoutMs: positiveInt.default(DEFAULT_PINECONE_TIMEOUT_MS),
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
  apiKeys: 'SEXTANT_API_KEYS',
  rateLimit: 'SEXTANT_RATE_LIMIT',
  maxBodyBytes: 'SEXTANT_MAX_BODY_BYTES',
  maxDocsPerRequest: 'SEXTANT_MAX_DOCS_PER_REQUEST',
  maxTextChars: 'SEXTANT_MAX_TEXT_CHARS',
  maxK: 'SEXTANT_MAX_K',
  snapshotChanges: 'SEXTANT_SNAPSHOT_CHANGES',
  snapshotSeconds: 'SEXTANT_SNAPSHOT_SECONDS',
  hybridAlpha: 'SEXTANT_HYBRID_ALPHA',
  reembedBatch: 'SEXTANT_REEMBED_BATCH',
  reembedDuty: 'SEXTANT_REEMBED_DUTY',
  retentionSeconds: 'SEXTANT_RETENTION_SECONDS',
  policyCooldownSeconds: 'SEXTANT_POLICY_COOLDOWN_SECONDS',
  policyReviewSeconds: 'SEXTANT_POLICY_REVIEW_SECONDS',
  url: 'SEXTANT_URL',
  apiKey: 'SEXTANT_API_KEY',
  pineconeApiKey: 'PINECONE_API_KEY',
  pineconeIndexHost: 'PINECONE_INDEX_HOST',
  pineconeIndex: 'PINECONE_INDEX',
  pineconeControllerHost: 'PINECONE_CONTROLLER_HOST',
  pineconeTimeoutMs: 'PINECONE_TIMEOUT_MS',
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
