/**
 * CLI commands work on a running server (--url / SEXTANT_URL) or, without one, on the data
 * directory directly (which they lock, so they never race a server on the same files).
 */
import { CollectionExistsApiError, CollectionNotFoundApiError, SextantClient, type SearchResponse } from '../client/index.ts';
import type { Config } from '../config.ts';
import type { IndexTarget } from '../ingest/bulk.ts';
import type { DocumentInput, UpsertResult } from '../search/documents.ts';
import type { SearchRequest } from '../search/query.ts';
import { openRuntime, type Runtime } from '../runtime.ts';
import type { SearchService } from '../search/service.ts';
import { cliClient } from './client.ts';

export interface CliTarget extends IndexTarget {
  /** The response as the API sends it (the local search returns the same shape). */
  search(collection: string, request: SearchRequest): Promise<SearchResponse>;
  close(): Promise<void>;
}

class RemoteTarget implements CliTarget {
  constructor(private readonly client: SextantClient) {}

  async ensureCollection(name: string): Promise<void> {
    try {
      await this.client.getCollection(name);
    } catch (err) {
      if (!(err instanceof CollectionNotFoundApiError)) throw err;
      await this.client.createCollection({ name }).catch((e: unknown) => {
        if (!(e instanceof CollectionExistsApiError)) throw e; // created meanwhile: fine
      });
    }
  }

  upsert(collection: string, docs: readonly DocumentInput[]): Promise<UpsertResult> {
    return this.client.upsertDocuments(
      collection,
      docs.map((d) => ({ ...d, metadata: d.metadata === undefined ? undefined : { ...d.metadata }, vector: d.vector === undefined ? undefined : [...d.vector] })),
    );
  }

  search(collection: string, r: SearchRequest): Promise<SearchResponse> {
    return this.client.search(collection, {
      mode: r.mode,
      query: r.query,
      k: r.k,
      filter: r.filter === undefined ? undefined : { ...r.filter },
      alpha: r.alpha,
      include_text: r.includeText,
      explain: r.explain,
    });
  }

  async close(): Promise<void> {}
}

/** Without a server: the whole system in this process (drift monitoring included), no jobs resumed. */
class LocalTarget implements CliTarget {
  private readonly service: SearchService;

  constructor(private readonly runtime: Runtime) {
    this.service = runtime.service;
  }

  async ensureCollection(name: string): Promise<void> {
    if (!this.service.hasCollection(name)) await this.service.createCollection({ name });
  }

  upsert(collection: string, docs: readonly DocumentInput[]): Promise<UpsertResult> {
    return this.service.upsertDocuments(collection, docs);
  }

  search(collection: string, request: SearchRequest): Promise<SearchResponse> {
    return this.service.search(collection, request);
  }

  close(): Promise<void> {
    return this.runtime.close();
  }
}

export async function openTarget(config: Config): Promise<CliTarget> {
  if (config.url) return new RemoteTarget(cliClient(config.url, config.apiKey));
  return new LocalTarget(await openRuntime(config, { startJobs: false }));
}
