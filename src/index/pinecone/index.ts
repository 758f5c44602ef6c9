/** The pinecone VectorIndex: one collection generation = one namespace of an existing Pinecone index, through the official SDK. */
/*
 * Pinecone through @pinecone-database/pinecone v8 (data-plane API version 2026-04). The index
 * itself (dimension, metric) is created by the operator; we only check that it fits.
 *
 * What the SDK does on its own and how we bound it:
 * - It retries 5xx answers (not 4xx, not network errors or timeouts) `maxRetries` times with
 *   exponential backoff (200 ms, 400 ms, 800 ms, ... ±25 %), then throws
 *   PineconeMaxRetriesExceededError.
 * - It has no request timeout; every SDK call runs through `call` (http.ts) with a deadline of
 *   `requestTimeoutMs` (PINECONE_TIMEOUT_MS) that covers its attempts and backoff, and the fetch we
 *   give the SDK aborts the attempt in flight when it passes, so one call takes at most about
 *   requestTimeoutMs and then fails with BackendUnavailableError.
 * - Its errors drop the HTTP status in places, so the same fetch records the last status and error
 *   body of the call, which errors are mapped with (errors.ts).
 *
 * Pinecone's counts (describe_index_stats) and reads are eventually consistent: a write is
 * acknowledged before it is visible to query/count, usually within a second or so.
 */
import { Pinecone } from '@pinecone-database/pinecone';
import type { Index, PineconeRecord } from '@pinecone-database/pinecone';
import { BackendNotFoundError, BackendUnavailableError, ConfigError, InvalidInputError } from '../../errors.ts';
import type { Metadata } from '../../values/filter.ts';
import type { IndexedVector, VectorHit, VectorIndex, VectorQuery } from '../types.ts';
import { toPineconeFilter } from './filter.ts';
import { call, tracingFetch } from './http.ts';
import { DEFAULT_PINECONE_MAX_RETRIES, DEFAULT_PINECONE_TIMEOUT_MS, normalizeHost } from './options.ts';
import type { PineconeIndexOptions } from './options.ts';
import { DELETE_MAX_IDS, FETCH_MAX_IDS, MAX_TOP_K, checkId, fromPineconeRecord, toPineconeRecord, toValues, upsertBatches } from './records.ts';

/** What the v8 SDK sends when a namespace is '' (and what stats call the default namespace). */
const DEFAULT_NAMESPACE = '__default__';
/** Metrics whose score is cosine similarity for the unit vectors we store. */
const COSINE_METRICS = new Set(['cosine', 'dotproduct']);

export class PineconeIndex implements VectorIndex {
  readonly kind = 'pinecone' as const;
  readonly remote = true;
  private closed = false;

  private constructor(
    private readonly index: Index,
    /** Data-plane URL the SDK talks to. */
    readonly host: string,
    readonly namespace: string,
    readonly dimensions: number,
    private readonly timeoutMs: number,
    /** Name the index was opened by, when it was. */
    readonly indexName?: string,
  ) {}

  static async open(opts: PineconeIndexOptions): Promise<PineconeIndex> {
    if (!Number.isInteger(opts.dimensions) || opts.dimensions <= 0) throw new InvalidInputError(`dimensions must be a positive integer, got ${opts.dimensions}`);
    if (typeof opts.namespace !== 'string') throw new InvalidInputError('namespace must be a string');
    if (typeof opts.apiKey !== 'string' || opts.apiKey === '') throw new ConfigError('Pinecone needs an API key (PINECONE_API_KEY)');
    const timeoutMs = opts.requestTimeoutMs ?? DEFAULT_PINECONE_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new InvalidInputError(`requestTimeoutMs must be a positive integer, got ${timeoutMs}`);
    const maxRetries = opts.maxRetries ?? DEFAULT_PINECONE_MAX_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 10) throw new InvalidInputError(`maxRetries must be an integer from 0 to 10, got ${maxRetries}`);

    const controllerHost = opts.controllerHost !== undefined ? normalizeHost(opts.controllerHost, 'controllerHost') : undefined;
    const pc = new Pinecone({
      apiKey: opts.apiKey,
      ...(controllerHost !== undefined && { controllerHostUrl: controllerHost }),
      fetchApi: tracingFetch(timeoutMs),
      maxRetries,
      sourceTag: 'sextant',
    });

    let host: string;
    if (opts.indexHost !== undefined && opts.indexHost !== '') {
      host = normalizeHost(opts.indexHost, 'indexHost');
    } else if (opts.indexName !== undefined && opts.indexName !== '') {
      // Resolved here rather than by pc.index({name}): the SDK caches hosts process-wide by
      // key and name, and describing the index lets us check dimension and metric up front.
      const name = opts.indexName;
      const where = controllerHost ?? 'https://api.pinecone.io';
      const model = await call('describe index', where, timeoutMs, () => pc.describeIndex(name));
      if (typeof model.host !== 'string' || model.host === '') {
        throw new BackendUnavailableError(`Pinecone index '${name}' has no host yet (state ${model.status?.state ?? 'unknown'})`);
      }
      if (model.status && model.status.ready === false) {
        throw new BackendUnavailableError(`Pinecone index '${name}' is not ready (state ${model.status.state})`);
      }
      checkShape(`index '${name}'`, opts.dimensions, model.dimension, model.metric, model.vectorType);
      host = normalizeHost(model.host, `host of index '${name}'`);
    } else {
      throw new ConfigError('Pinecone needs indexHost (PINECONE_INDEX_HOST) or indexName (PINECONE_INDEX)');
    }

    const index = pc.index({ host, namespace: opts.namespace });
    const self = new PineconeIndex(index, host, opts.namespace, opts.dimensions, timeoutMs, opts.indexName);
    if (opts.verify ?? true) {
      // The SDK's stats keep only the dimension (it drops metric and vectorType), so the metric
      // is checked only when the index is opened by name.
      const stats = await self.call('describe index stats', () => index.describeIndexStats());
      checkShape(`index at ${host}`, opts.dimensions, stats.dimension, undefined, undefined);
    }
    return self;
  }

  async upsert(items: readonly IndexedVector[]): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(items)) throw new InvalidInputError('upsert expects an array of vectors');
    // Everything is validated before the first request, so a bad item never leaves a half-written call.
    const byId = new Map<string, PineconeRecord>();
    items.forEach((item, i) => {
      const record = toPineconeRecord(item, this.dimensions, `items[${i}]`);
      // One id twice in a request has no defined order on Pinecone's side; the last one wins here as it would sequentially.
      byId.delete(record.id);
      byId.set(record.id, record);
    });
    for (const batch of upsertBatches([...byId.values()])) {
      await this.call('upsert', () => this.index.upsert({ records: batch }));
    }
  }

  async delete(ids: readonly string[]): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(ids)) throw new InvalidInputError('delete expects an array of ids');
    const unique = [...new Set(ids.map((id, i) => checkId(id, `ids[${i}]`)))];
    for (let i = 0; i < unique.length; i += DELETE_MAX_IDS) {
      const chunk = unique.slice(i, i + DELETE_MAX_IDS);
      await this.ignoreMissingNamespace(() => this.call('delete', () => this.index.deleteMany({ ids: chunk })));
    }
  }

  async search(query: VectorQuery): Promise<VectorHit[]> {
    this.assertOpen();
    const vector = toValues(query.vector, this.dimensions, 'query.vector');
    if (!Number.isInteger(query.k) || query.k < 0) throw new InvalidInputError(`k must be a non-negative integer, got ${query.k}`);
    if (query.k > MAX_TOP_K) throw new InvalidInputError(`k is ${query.k}; Pinecone returns at most ${MAX_TOP_K} results`);
    const filter = query.filter === undefined ? {} : toPineconeFilter(query.filter);
    if (query.k === 0 || filter === null) return [];
    const response = await this.call('query', () =>
      this.index.query({
        vector,
        topK: query.k,
        includeValues: false,
        includeMetadata: false,
        ...(Object.keys(filter).length > 0 && { filter }),
      }),
    );
    return response.matches.map((m) => ({ id: m.id, score: m.score ?? 0 }));
  }

  async count(): Promise<number> {
    this.assertOpen();
    const stats = await this.call('describe index stats', () => this.index.describeIndexStats());
    const namespaces = stats.namespaces ?? {};
    const summary = namespaces[this.namespace === '' ? DEFAULT_NAMESPACE : this.namespace] ?? (this.namespace === '' ? namespaces[''] : undefined);
    return summary?.recordCount ?? 0;
  }

  async flush(): Promise<void> {}

  /** The SDK holds no connections of its own (fetch's global pool), so closing only stops further use. */
  async close(): Promise<void> {
    this.closed = true;
  }

  async drop(): Promise<void> {
    this.assertOpen();
    await this.ignoreMissingNamespace(() => this.call('delete all', () => this.index.deleteAll()));
  }

  /** Reads records back by id (values and metadata), e.g. for consistency checks and tests. */
  async fetch(ids: readonly string[]): Promise<Map<string, { vector: Float32Array; metadata?: Metadata }>> {
    this.assertOpen();
    const out = new Map<string, { vector: Float32Array; metadata?: Metadata }>();
    const unique = [...new Set(ids.map((id, i) => checkId(id, `ids[${i}]`)))];
    for (let i = 0; i < unique.length; i += FETCH_MAX_IDS) {
      const chunk = unique.slice(i, i + FETCH_MAX_IDS);
      const res = await this.call('fetch', () => this.index.fetch({ ids: chunk }));
      for (const [id, rec] of Object.entries(res.records)) out.set(id, fromPineconeRecord(rec));
    }
    return out;
  }

  private call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return call(op, this.host, this.timeoutMs, fn);
  }

  /** Serverless Pinecone answers 404 to deletes in a namespace that does not exist (yet): nothing to delete. */
  private async ignoreMissingNamespace(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof BackendNotFoundError)) throw e;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`pinecone index ${this.host} (namespace '${this.namespace}') is closed`);
  }
}

function checkShape(what: string, dimensions: number, dimension: number | undefined, metric: string | undefined, vectorType: string | undefined): void {
  if (vectorType !== undefined && vectorType !== 'dense') throw new ConfigError(`Pinecone ${what} holds ${vectorType} vectors; sextant needs a dense index`);
  if (dimension !== undefined && dimension !== dimensions) {
    throw new ConfigError(`Pinecone ${what} has dimension ${dimension}; this collection's model produces ${dimensions}`);
  }
  if (metric !== undefined && !COSINE_METRICS.has(metric)) {
    throw new ConfigError(`Pinecone ${what} uses metric '${metric}'; sextant needs 'cosine' (or 'dotproduct') so scores are cosine similarities`);
  }
}
