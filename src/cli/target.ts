/**
 * CLI commands work on a running server (--url / SEXTANT_URL) or, without one, on the data
 * directory directly (which they lock, so they never race a server on the same files).
 */
import type { Config } from '../config.ts';
import type { IndexTarget } from '../ingest/bulk.ts';
import type { DocumentInput, UpsertResult } from '../search/documents.ts';
import type { SearchRequest, SearchResponse } from '../search/query.ts';
import { SearchService } from '../search/service.ts';
import { HttpClient, RemoteError } from './http-client.ts';

export interface CliTarget extends IndexTarget {
  search(collection: string, request: SearchRequest): Promise<SearchResponse>;
  close(): Promise<void>;
}

class RemoteTarget implements CliTarget {
  constructor(private readonly http: HttpClient) {}

  async ensureCollection(name: string): Promise<void> {
    try {
      await this.http.request('GET', `/v1/collections/${encodeURIComponent(name)}`);
    } catch (err) {
      if (!(err instanceof RemoteError) || err.status !== 404) throw err;
      await this.http.request('POST', '/v1/collections', { name }).catch((e: unknown) => {
        if (!(e instanceof RemoteError) || e.status !== 409) throw e; // created meanwhile: fine
      });
    }
  }

  upsert(collection: string, docs: readonly DocumentInput[]): Promise<UpsertResult> {
    return this.http.request('POST', `/v1/collections/${encodeURIComponent(collection)}/documents`, { documents: docs });
  }

  search(collection: string, r: SearchRequest): Promise<SearchResponse> {
    return this.http.request('POST', `/v1/collections/${encodeURIComponent(collection)}/search`, {
      mode: r.mode,
      query: r.query,
      k: r.k,
      filter: r.filter,
      alpha: r.alpha,
      include_text: r.includeText,
      explain: r.explain,
    });
  }

  async close(): Promise<void> {}
}

class LocalTarget implements CliTarget {
  constructor(private readonly service: SearchService) {}

  async ensureCollection(name: string): Promise<void> {
    if (!this.service.context.store.getCollection(name)) await this.service.createCollection({ name });
  }

  upsert(collection: string, docs: readonly DocumentInput[]): Promise<UpsertResult> {
    return this.service.upsertDocuments(collection, docs);
  }

  search(collection: string, request: SearchRequest): Promise<SearchResponse> {
    return this.service.search(collection, request);
  }

  close(): Promise<void> {
    return this.service.close();
  }
}

export async function openTarget(config: Config): Promise<CliTarget> {
  if (config.url) return new RemoteTarget(new HttpClient(config.url, config.apiKey));
  return new LocalTarget(await SearchService.open(config));
}
