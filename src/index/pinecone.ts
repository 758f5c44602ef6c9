/**
 * Pinecone vector index through the official SDK (@pinecone-database/pinecone v8, data-plane
 * API version 2026-04). One collection = one namespace of an existing index; the index itself
 * (dimension, metric) is created by the operator, we only check that it fits.
 *
 * What the SDK does on its own and how we bound it:
 * - It retries 5xx answers (not 4xx, not network errors) `maxRetries` times with exponential
 *   backoff (200 ms, 400 ms, 800 ms, ... ±25 %), then throws PineconeMaxRetriesExceededError.
 * - It has no request timeout; we give it a fetch that aborts each attempt after
 *   `requestTimeoutMs`, so one call takes at most about
 *   (maxRetries + 1) * requestTimeoutMs + the backoff sum.
 * - Its errors drop the HTTP status in places (403 becomes PineconeBadRequestError, 404 loses
 *   Pinecone's message, 5xx after retries loses the status), so the same fetch records the last
 *   status and error body of the call in an AsyncLocalStorage slot that errors are mapped with.
 *
 * Pinecone's counts (describe_index_stats) and reads are eventually consistent: a write is
 * acknowledged before it is visible to query/count, usually within a second or so.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Errors, Pinecone } from '@pinecone-database/pinecone';
import type { Index, PineconeRecord, RecordMetadata } from '@pinecone-database/pinecone';
import {
  BackendAuthError,
  BackendNotFoundError,
  BackendUnavailableError,
  ConfigError,
  InvalidInputError,
  InvalidVectorError,
  SextantError,
} from '../errors.ts';
import type { FieldCondition, Filter, Metadata, Scalar } from '../values/filter.ts';
import type { IndexedVector, VectorHit, VectorIndex, VectorQuery } from './types.ts';

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
  /** Limit for each HTTP attempt, retries included (default 10 000). */
  readonly requestTimeoutMs?: number;
  /** Retries of 5xx answers after the first attempt (SDK default 3; at most 10). */
  readonly maxRetries?: number;
  /**
   * Call describe_index_stats on open to fail fast on a wrong host, key or dimension (default
   * true). Off, the first operation reports those.
   */
  readonly verify?: boolean;
}

export const DEFAULT_PINECONE_TIMEOUT_MS = 10_000;
export const DEFAULT_PINECONE_MAX_RETRIES = 3;
/** Pinecone's documented limits: 1000 records and 2 MB per upsert, 1000 ids per delete, topK <= 10000. */
const UPSERT_MAX_RECORDS = 100;
const UPSERT_MAX_BYTES = 2 * 1024 * 1024 - 64 * 1024;
const DELETE_MAX_IDS = 1000;
const MAX_TOP_K = 10_000;
const MAX_METADATA_BYTES = 40 * 1024;
const MAX_ID_BYTES = 512;
/** What the v8 SDK sends when a namespace is '' (and what stats call the default namespace). */
const DEFAULT_NAMESPACE = '__default__';
/** Metrics whose score is cosine similarity for the unit vectors we store. */
const COSINE_METRICS = new Set(['cosine', 'dotproduct']);

/**
 * Reads PINECONE_API_KEY, PINECONE_INDEX_HOST or PINECONE_INDEX, PINECONE_CONTROLLER_HOST and
 * PINECONE_TIMEOUT_MS. Throws ConfigError naming what is missing or malformed.
 */
export function pineconeOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  namespace: string,
  dimensions: number,
): PineconeIndexOptions {
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const apiKey = value('PINECONE_API_KEY');
  if (apiKey === undefined) throw new ConfigError('PINECONE_API_KEY is not set; the pinecone backend needs an API key');
  const indexHost = value('PINECONE_INDEX_HOST');
  const indexName = value('PINECONE_INDEX');
  if (indexHost === undefined && indexName === undefined) {
    throw new ConfigError('set PINECONE_INDEX_HOST (the index URL) or PINECONE_INDEX (an index name) for the pinecone backend');
  }
  const controllerHost = value('PINECONE_CONTROLLER_HOST');
  const timeout = value('PINECONE_TIMEOUT_MS');
  let requestTimeoutMs: number | undefined;
  if (timeout !== undefined) {
    requestTimeoutMs = Number(timeout);
    if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs <= 0) {
      throw new ConfigError(`PINECONE_TIMEOUT_MS must be a positive integer (milliseconds), got '${timeout}'`);
    }
  }
  if (indexHost !== undefined) normalizeHost(indexHost, 'PINECONE_INDEX_HOST');
  if (controllerHost !== undefined) normalizeHost(controllerHost, 'PINECONE_CONTROLLER_HOST');
  return {
    apiKey,
    namespace,
    dimensions,
    ...(indexHost !== undefined ? { indexHost } : { indexName }),
    ...(controllerHost !== undefined && { controllerHost }),
    ...(requestTimeoutMs !== undefined && { requestTimeoutMs }),
  };
}

/** The SDK prefixes https:// to bare hosts and appends paths to the base, so a trailing '/' would double up. */
function normalizeHost(host: string, what: string): string {
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

// ---------------------------------------------------------------------------------------------
// Filters

/** A Pinecone metadata filter (JSON object in Pinecone's MongoDB-like language). */
export type PineconeFilter = { readonly [key: string]: unknown };

/**
 * Translates our filter to Pinecone's. Returns `{}` when the filter constrains nothing (send no
 * filter) and `null` when no record can match (e.g. `$in: []`), which Pinecone cannot express;
 * the caller answers that without a request.
 *
 * Differences handled: Pinecone's `$gt/$gte/$lt/$lte` take numbers only (a string bound is an
 * InvalidInputError, since Pinecone would reject or misorder it); `$in/$nin` take strings and
 * numbers only, so booleans in them become `$eq`/`$ne` clauses; equality shorthand becomes an
 * explicit `$eq`; several fields in one object become an explicit `$and`.
 */
export function toPineconeFilter(filter: Filter): PineconeFilter | null {
  const out = translate(filter, 'filter');
  return out === MATCH_ALL ? {} : out === MATCH_NONE ? null : out;
}

const MATCH_ALL = Symbol('all');
const MATCH_NONE = Symbol('none');
type Translated = PineconeFilter | typeof MATCH_ALL | typeof MATCH_NONE;

function conjunction(parts: readonly Translated[]): Translated {
  const kept: PineconeFilter[] = [];
  for (const p of parts) {
    if (p === MATCH_NONE) return MATCH_NONE;
    if (p !== MATCH_ALL) kept.push(p);
  }
  if (kept.length === 0) return MATCH_ALL;
  return kept.length === 1 ? kept[0]! : { $and: kept };
}

function disjunction(parts: readonly Translated[]): Translated {
  const kept: PineconeFilter[] = [];
  for (const p of parts) {
    if (p === MATCH_ALL) return MATCH_ALL;
    if (p !== MATCH_NONE) kept.push(p);
  }
  if (kept.length === 0) return MATCH_NONE;
  return kept.length === 1 ? kept[0]! : { $or: kept };
}

function translate(filter: Filter, path: string): Translated {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new InvalidInputError(`${path} must be an object`);
  }
  const parts: Translated[] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (condition === undefined) continue;
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition) || condition.length === 0) throw new InvalidInputError(`${path}.${key} must be a non-empty array of filters`);
      const subs = (condition as readonly Filter[]).map((f, i) => translate(f, `${path}.${key}[${i}]`));
      parts.push(key === '$and' ? conjunction(subs) : disjunction(subs));
    } else if (key.startsWith('$')) {
      throw new InvalidInputError(`${path}: unknown operator '${key}'`);
    } else {
      parts.push(translateField(key, condition as FieldCondition, `${path}.${key}`));
    }
  }
  return conjunction(parts);
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function translateField(field: string, condition: FieldCondition, path: string): Translated {
  if (typeof condition !== 'object' || condition === null) {
    if (!isScalar(condition)) throw new InvalidInputError(`${path} must be a string, number, boolean or an operator object`);
    return { [field]: { $eq: condition } };
  }
  const ops: Record<string, unknown> = {};
  const extra: Translated[] = [];
  for (const [op, value] of Object.entries(condition)) {
    if (value === undefined) continue;
    switch (op) {
      case '$eq':
      case '$ne':
        if (!isScalar(value)) throw new InvalidInputError(`${path}.${op} must be a string, number or boolean`);
        ops[op] = value;
        break;
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          throw new InvalidInputError(
            `${path}.${op}: Pinecone compares only numbers with $gt/$gte/$lt/$lte, got ${JSON.stringify(value)}; ` +
              'store the field as a number (e.g. epoch milliseconds for dates) to range-filter on the pinecone backend',
          );
        }
        ops[op] = value;
        break;
      case '$in':
      case '$nin': {
        if (!Array.isArray(value) || !value.every(isScalar)) throw new InvalidInputError(`${path}.${op} must be an array of strings, numbers or booleans`);
        const others = value.filter((v) => typeof v !== 'boolean');
        const bools = [...new Set(value.filter((v): v is boolean => typeof v === 'boolean'))];
        if (op === '$in') {
          // Pinecone's $in takes strings and numbers; a boolean member is an equality alternative.
          if (bools.length === 0 && others.length > 0) ops.$in = others;
          else extra.push(disjunction([...bools.map((b) => ({ [field]: { $eq: b } })), ...(others.length > 0 ? [{ [field]: { $in: others } }] : [])]));
        } else {
          if (others.length > 0) ops.$nin = others;
          for (const b of bools) extra.push({ [field]: { $ne: b } });
        }
        break;
      }
      default:
        throw new InvalidInputError(`${path}: unknown operator '${op}'`);
    }
  }
  if (Object.keys(ops).length === 0 && extra.length === 0 && Object.keys(condition).length === 0) {
    throw new InvalidInputError(`${path}: empty condition`);
  }
  return conjunction([...(Object.keys(ops).length > 0 ? [{ [field]: ops }] : []), ...extra]);
}

// ---------------------------------------------------------------------------------------------
// Metadata and vectors

/**
 * Pinecone stores string, number, boolean and list-of-string values under keys that do not start
 * with '$'. Null/undefined values are dropped (Pinecone rejects null; absent is the closest
 * meaning); anything else is an InvalidInputError naming the key.
 */
export function toPineconeMetadata(metadata: Metadata | undefined, what = 'metadata'): RecordMetadata | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new InvalidInputError(`${what} must be an object`);
  const out: RecordMetadata = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (key === '' || key.startsWith('$')) throw new InvalidInputError(`${what}: key '${key}' is not allowed by Pinecone (empty or starting with '$')`);
    if (value === null || value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'boolean') {
      out[key] = value;
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new InvalidInputError(`${what}.${key} is ${value}; Pinecone stores only finite numbers`);
      out[key] = value;
    } else if (Array.isArray(value)) {
      if (!value.every((v) => typeof v === 'string')) {
        throw new InvalidInputError(`${what}.${key}: Pinecone lists may hold only strings`);
      }
      out[key] = [...(value as string[])];
    } else if (typeof value === 'object') {
      throw new InvalidInputError(`${what}.${key}: nested objects are not supported by Pinecone (use flat keys like '${key}_field')`);
    } else {
      throw new InvalidInputError(`${what}.${key} has type ${typeof value}; Pinecone stores strings, numbers, booleans and lists of strings`);
    }
  }
  if (Object.keys(out).length === 0) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(out));
  if (bytes > MAX_METADATA_BYTES) throw new InvalidInputError(`${what} is ${bytes} bytes; Pinecone allows ${MAX_METADATA_BYTES} per record`);
  return out;
}

function toValues(vector: unknown, dimensions: number, what: string): number[] {
  if (!(vector instanceof Float32Array) && !Array.isArray(vector)) {
    throw new InvalidVectorError(`${what} must be a Float32Array or an array of numbers`);
  }
  if (vector.length !== dimensions) {
    throw new InvalidVectorError(`${what} has ${vector.length} dimensions; this index has ${dimensions}`, { expected: dimensions, got: vector.length });
  }
  const out = new Array<number>(dimensions);
  for (let i = 0; i < dimensions; i++) {
    const x: unknown = vector[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new InvalidVectorError(`${what}[${i}] is ${String(x)}; vectors must hold finite numbers`);
    out[i] = x;
  }
  return out;
}

function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidInputError(`${what} must be a non-empty string`);
  if (Buffer.byteLength(id) > MAX_ID_BYTES) throw new InvalidInputError(`${what} is longer than Pinecone's ${MAX_ID_BYTES} bytes`);
  return id;
}

/** Splits records into requests of at most UPSERT_MAX_RECORDS and about UPSERT_MAX_BYTES of JSON. */
export function upsertBatches<T extends { readonly id: string }>(records: readonly T[], maxRecords = UPSERT_MAX_RECORDS, maxBytes = UPSERT_MAX_BYTES): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = Buffer.byteLength(JSON.stringify(r)) + 1;
    if (current.length > 0 && (current.length >= maxRecords || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

// ---------------------------------------------------------------------------------------------
// HTTP tracing and error mapping

interface CallTrace {
  attempts: number;
  status?: number;
  body?: string;
  timedOut: boolean;
}

const traces = new AsyncLocalStorage<CallTrace>();

/**
 * The fetch the SDK runs (inside its retry loop): bounds each attempt and records what came back.
 * Error bodies are read here and handed on as a fresh Response so that a retried 5xx does not
 * leave an unread body holding its connection.
 */
function tracingFetch(timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const trace = traces.getStore();
    if (trace !== undefined) {
      trace.attempts++;
      trace.status = undefined;
      trace.body = undefined;
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(input, { ...init, signal });
    } catch (e) {
      if (trace !== undefined && timeout.aborted) trace.timedOut = true;
      throw e;
    }
    if (trace !== undefined) trace.status = response.status;
    if (response.ok) return response;
    let text = '';
    try {
      text = await response.text();
    } catch (e) {
      if (trace !== undefined && timeout.aborted) trace.timedOut = true;
      throw e;
    }
    if (trace !== undefined) trace.body = text.slice(0, 1000);
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** Pinecone answers errors as {"code","message"} (data plane) or {"error":{"code","message"}} (control plane). */
function bodyMessage(body: string | undefined): string {
  if (body === undefined || body === '') return '';
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json === 'object' && json !== null) {
      const j = json as { message?: unknown; error?: { message?: unknown } };
      if (typeof j.message === 'string') return j.message;
      if (typeof j.error?.message === 'string') return j.error.message;
    }
  } catch {
    // not JSON: the body is the message
  }
  return body.slice(0, 300);
}

function rootCause(e: unknown): string {
  let cur: unknown = e;
  for (let depth = 0; depth < 6 && cur instanceof Error; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (cur.cause === undefined) return cur.message;
    cur = cur.cause;
  }
  return String(cur);
}

function mapError(e: unknown, op: string, host: string, trace: CallTrace, timeoutMs: number): Error {
  if (e instanceof SextantError) return e;
  const name = e instanceof Error ? e.name : '';
  const status = trace.status;
  const detail = bodyMessage(trace.body);
  const suffix = detail !== '' ? `: ${detail}` : '';
  const details = { operation: op, host, ...(status !== undefined && { status }), attempts: trace.attempts };
  let mapped: SextantError;
  // A TimeoutError outside the trace is the abort firing while the SDK read a successful body.
  if (trace.timedOut || name === 'TimeoutError') {
    mapped = new BackendUnavailableError(`Pinecone ${op} at ${host} timed out after ${timeoutMs} ms`, details);
  } else if (status === 401 || status === 403 || (status === undefined && name === 'PineconeAuthorizationError')) {
    mapped = new BackendAuthError(`Pinecone rejected the API key (HTTP ${status ?? 401}) during ${op} at ${host}${suffix}`, details);
  } else if (status === 404 || (status === undefined && name === 'PineconeNotFoundError')) {
    mapped = new BackendNotFoundError(`Pinecone ${op} at ${host}: not found (HTTP 404)${suffix}`, details);
  } else if (status !== undefined && status >= 500) {
    const tries = trace.attempts > 1 ? ` after ${trace.attempts} attempts` : '';
    mapped = new BackendUnavailableError(`Pinecone ${op} at ${host} failed with HTTP ${status}${tries}${suffix}`, details);
  } else if (status === 429) {
    mapped = new BackendUnavailableError(`Pinecone ${op} at ${host} is rate limited (HTTP 429)${suffix}`, details);
  } else if (status !== undefined && status >= 400) {
    mapped = new InvalidInputError(`Pinecone rejected ${op} at ${host} (HTTP ${status})${suffix}`, details);
  } else if (name === 'PineconeArgumentError') {
    mapped = new InvalidInputError(`Pinecone ${op}: ${e instanceof Error ? e.message : String(e)}`, details);
  } else if (name === 'PineconeConnectionError' || name === 'PineconeMaxRetriesExceededError' || e instanceof Errors.BasePineconeError) {
    mapped = new BackendUnavailableError(`Pinecone ${op}: could not reach ${host} (${rootCause(e)})`, details);
  } else {
    // A 2xx whose body the SDK could not parse, or anything else unexpected from the remote side.
    mapped = new BackendUnavailableError(`Pinecone ${op} at ${host} failed: ${e instanceof Error ? e.message : String(e)}`, details);
  }
  mapped.cause = e;
  return mapped;
}

// ---------------------------------------------------------------------------------------------
// The index

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
      const id = checkId(item.id, `items[${i}].id`);
      const values = toValues(item.vector, this.dimensions, `items[${i}].vector`);
      const metadata = toPineconeMetadata(item.metadata, `items[${i}].metadata`);
      // One id twice in a request has no defined order on Pinecone's side; the last one wins here as it would sequentially.
      byId.delete(id);
      byId.set(id, metadata === undefined ? { id, values } : { id, values, metadata });
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
    // Ids travel in the query string; 100 keeps the URL well under common 8 KB limits.
    for (let i = 0; i < unique.length; i += 100) {
      const chunk = unique.slice(i, i + 100);
      const res = await this.call('fetch', () => this.index.fetch({ ids: chunk }));
      for (const [id, rec] of Object.entries(res.records)) {
        out.set(id, { vector: Float32Array.from(rec.values ?? []), ...(rec.metadata !== undefined && { metadata: rec.metadata }) });
      }
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

async function call<T>(op: string, host: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const trace: CallTrace = { attempts: 0, timedOut: false };
  try {
    return await traces.run(trace, fn);
  } catch (e) {
    throw mapError(e, op, host, trace, timeoutMs);
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
