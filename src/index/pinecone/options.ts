/** Settings of the pinecone backend, their defaults, and building them from the server's Config. */
import type { Config } from '../../config.ts';
import { ConfigError } from '../../errors.ts';

export interface PineconeIndexOptions {
  readonly apiKey: string;
  /** Data-plane URL of the index (`https://<index>-<id>.svc.<env>.pinecone.io`); wins over indexName. */
  readonly indexHost?: string;
  /** Index name, resolved to its host through the control plane (describe_index). */
  readonly indexName?: string;
  /** Control-plane URL (default https://api.pinecone.io). */
  readonly controllerHost?: string;
  readonly namespace: string;
  readonly dimensions: number;
  /**
   * Limit for each Pinecone operation (one SDK call), its retries and their backoff included
   * (default DEFAULT_PINECONE_TIMEOUT_MS). A call still running then fails with
   * BackendUnavailableError.
   */
  readonly requestTimeoutMs?: number;
  /** Retries of 5xx answers after the first attempt (SDK default 3; at most 10). */
  readonly maxRetries?: number;
  /**
   * Call describe_index_stats on open to fail fast on a wrong host, key or dimension (default
   * true). Off, the first operation reports those.
   */
  readonly verify?: boolean;
}

/** Default of `requestTimeoutMs`: the configuration's (PINECONE_TIMEOUT_MS, src/config.ts). */
export { DEFAULT_PINECONE_TIMEOUT_MS } from '../../config.ts';
export const DEFAULT_PINECONE_MAX_RETRIES = 3;

/** The Config fields the pinecone backend reads. */
export type PineconeConfig = Pick<Config, 'pineconeApiKey' | 'pineconeIndexHost' | 'pineconeIndex' | 'pineconeControllerHost' | 'pineconeTimeoutMs'>;

/**
 * Options for one namespace from the configuration (PINECONE_API_KEY, PINECONE_INDEX_HOST or
 * PINECONE_INDEX, PINECONE_CONTROLLER_HOST, PINECONE_TIMEOUT_MS). Throws ConfigError naming
 * what is missing or malformed.
 */
export function pineconeOptionsFromConfig(config: PineconeConfig, namespace: string, dimensions: number): PineconeIndexOptions {
  const value = (v: string | undefined): string | undefined => {
    const t = v?.trim();
    return t === undefined || t === '' ? undefined : t;
  };
  const apiKey = value(config.pineconeApiKey);
  if (apiKey === undefined) throw new ConfigError('PINECONE_API_KEY is not set; the pinecone backend needs an API key');
  const indexHost = value(config.pineconeIndexHost);
  const indexName = value(config.pineconeIndex);
  if (indexHost === undefined && indexName === undefined) {
    throw new ConfigError('set PINECONE_INDEX_HOST (the index URL) or PINECONE_INDEX (an index name) for the pinecone backend');
  }
  const controllerHost = value(config.pineconeControllerHost);
  const requestTimeoutMs = config.pineconeTimeoutMs;
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs <= 0) {
    throw new ConfigError(`PINECONE_TIMEOUT_MS must be a positive integer (milliseconds), got '${String(requestTimeoutMs)}'`);
  }
  if (indexHost !== undefined) normalizeHost(indexHost, 'PINECONE_INDEX_HOST');
  if (controllerHost !== undefined) normalizeHost(controllerHost, 'PINECONE_CONTROLLER_HOST');
  return {
    apiKey,
    namespace,
    dimensions,
    ...(indexHost !== undefined ? { indexHost } : { indexName }),
    ...(controllerHost !== undefined && { controllerHost }),
    requestTimeoutMs,
  };
}

/** The SDK prefixes https:// to bare hosts and appends paths to the base, so a trailing '/' would double up. */
export function normalizeHost(host: string, what: string): string {
  const withScheme = /^https?:\/\//i.test(host) ? host : `https://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`${what} is not a valid URL or host name: '${host}'`);
  }
  if (url.search !== '' || url.hash !== '') throw new ConfigError(`${what} must not have a query or fragment: '${host}'`);
  return withScheme.replace(/\/+$/, '');
}
