/**
 * A local stand-in for Pinecone that speaks its REST protocol as the v8 SDK sends it (API
 * version 2026-04, from the SDK's generated clients `db_data/apis/VectorOperationsApi.js` and
 * `db_control/apis/ManageIndexesApi.js`), so the pinecone backend is tested through the real SDK
 * over real HTTP.
 *
 * Data plane (url):        POST /vectors/upsert, POST /query, POST /vectors/delete,
 *                          POST /describe_index_stats, GET /vectors/fetch?ids=..&namespace=..,
 *                          POST /vectors/update, GET /vectors/list
 * Control plane (controllerUrl, a separate server as in production): GET /indexes/{name}, GET /indexes
 *
 * Every request needs the `Api-Key` header; a wrong or missing key gets 401. Errors use Pinecone's
 * shapes: the data plane's google.rpc.Status `{code, message, details}` and the control plane's
 * `{error: {code, message}, status}`. Validation follows Pinecone's documented limits (dimension,
 * 1000 records and 2 MB per upsert, metadata types and 40 KB, topK <= 10000, number-only range
 * operators, string/number-only $in/$nin), so a client that sends what Pinecone would reject fails
 * here too. Serverless behaviour kept: a delete in a namespace that does not exist answers 404, and
 * a namespace disappears when its last record is deleted. Unlike Pinecone, writes are visible at
 * once (no eventual consistency), which keeps tests exact.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchesFilter } from '../../src/values/filter.ts';
import type { Filter } from '../../src/values/filter.ts';

export interface RecordedRequest {
  readonly server: 'data' | 'control';
  readonly method: string;
  /** Path without the query string, e.g. `/vectors/upsert`. */
  readonly path: string;
  /** Query parameters; repeated keys (`ids=a&ids=b`) keep every value. */
  readonly query: Readonly<Record<string, string[]>>;
  /** Node lower-cases header names: `api-key`, `x-pinecone-api-version`, `user-agent`. */
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when there was none. */
  readonly body: unknown;
}

export interface FakeRecord {
  readonly id: string;
  readonly values: readonly number[];
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface FakePineconeOptions {
  readonly apiKey?: string;
  readonly dimension?: number;
  readonly indexName?: string;
  readonly metric?: 'cosine' | 'dotproduct' | 'euclidean';
  /** Every answer (either server, errors included) is sent this many ms after the request arrived (default 0); see delayAnswers. */
  readonly answerDelayMs?: number;
}

export interface FakePinecone {
  /** Data-plane base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Control-plane base URL (another port). */
  readonly controllerUrl: string;
  readonly apiKey: string;
  readonly dimension: number;
  readonly indexName: string;
  /** Every request received, failed and stalled ones included, in arrival order. */
  readonly requests: RecordedRequest[];
  /** The next `count` requests (either server) are answered with `status` and Pinecone's error body. */
  failNext(status: number, count?: number): void;
  /** The next `count` requests are never answered (until close), to exercise client timeouts. */
  stallNext(count?: number): void;
  /**
   * From now on every answer is sent `ms` after its request arrived (0: at once), to exercise
   * client timeouts against a slow Pinecone. The request itself takes effect on arrival, as a
   * write Pinecone applied but acknowledged late; an answer whose client has gone is dropped.
   */
  delayAnswers(ms: number): void;
  /** Answers delayed by delayAnswers that have not been sent yet (a client that got its error first saw them pending). */
  pendingAnswers(): number;
  /** Current contents: namespace -> id -> record. */
  namespaces(): ReadonlyMap<string, ReadonlyMap<string, FakeRecord>>;
  close(): Promise<void>;
}

const DEFAULT_NAMESPACE = '__default__';
const MAX_UPSERT_RECORDS = 1000;
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
const MAX_METADATA_BYTES = 40 * 1024;
const MAX_DELETE_IDS = 1000;
const MAX_TOP_K = 10_000;

/** google.rpc.Code numbers Pinecone's data plane puts in `code`. */
const RPC_CODES: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 500: 13, 501: 12, 503: 14, 504: 4 };
const CONTROL_CODES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'UNKNOWN',
  503: 'UNAVAILABLE',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakePinecone(opts: FakePineconeOptions = {}): Promise<FakePinecone> {
  const apiKey = opts.apiKey ?? 'test-key';
  const dimension = opts.dimension ?? 8;
  const indexName = opts.indexName ?? 'sextant-test';
  const metric = opts.metric ?? 'cosine';
  const store = new Map<string, Map<string, FakeRecord>>();
  const requests: RecordedRequest[] = [];
  const failures: number[] = [];
  let stalls = 0;
  let answerDelayMs = opts.answerDelayMs ?? 0;
  let dataUrl = '';

  const nsName = (raw: unknown): string => {
    if (raw === undefined || raw === null || raw === '') return DEFAULT_NAMESPACE;
    if (typeof raw !== 'string') throw new HttpError(400, 'namespace must be a string');
    return raw;
  };

  const indexModel = () => ({
    name: indexName,
    vector_type: 'dense',
    metric,
    dimension,
    status: { ready: true, state: 'Ready' },
    // Production hosts are bare names the SDK prefixes with https://; ours carries its scheme.
    host: dataUrl,
    spec: { serverless: { cloud: 'aws', region: 'us-east-1', read_capacity: { mode: 'OnDemand', status: { state: 'Ready' } } } },
    deletion_protection: 'disabled',
    tags: {},
  });

  function control(method: string, path: string): unknown {
    if (method === 'GET' && path === '/indexes') return { indexes: [indexModel()] };
    const m = /^\/indexes\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) {
      const name = decodeURIComponent(m[1]!);
      if (name !== indexName) throw new HttpError(404, `Resource ${name} not found`);
      return indexModel();
    }
    throw new HttpError(404, `no route ${method} ${path}`);
  }

  function data(method: string, path: string, query: Record<string, string[]>, body: unknown, bytes: number): unknown {
    const route = `${method} ${path}`;
    switch (route) {
      case 'POST /vectors/upsert':
        return upsert(object(body), bytes);
      case 'POST /query':
        return queryVectors(object(body));
      case 'POST /vectors/delete':
        return deleteVectors(object(body));
      case 'POST /describe_index_stats':
        return stats();
      case 'GET /vectors/fetch':
        return fetchVectors(query);
      case 'POST /vectors/update':
        return update(object(body));
      case 'GET /vectors/list':
        return list(query);
      default:
        throw new HttpError(404, `no route ${route}`);
    }
  }

  function upsert(body: Record<string, unknown>, bytes: number): unknown {
    if (bytes > MAX_REQUEST_BYTES) {
      throw new HttpError(400, `Request size ${(bytes / 1024 / 1024).toFixed(1)}MB exceeds the maximum supported size of 2MB`);
    }
    const vectors = body.vectors;
    if (!Array.isArray(vectors) || vectors.length === 0) throw new HttpError(400, 'vectors must be a non-empty array');
    if (vectors.length > MAX_UPSERT_RECORDS) throw new HttpError(400, `upsert holds ${vectors.length} vectors; the maximum is ${MAX_UPSERT_RECORDS}`);
    const records = vectors.map((v: unknown, i: number) => checkRecord(v, `vectors[${i}]`));
    const ns = nsName(body.namespace);
    let target = store.get(ns);
    if (target === undefined) store.set(ns, (target = new Map()));
    for (const r of records) target.set(r.id, r);
    return { upsertedCount: records.length };
  }

  function checkRecord(raw: unknown, path: string): FakeRecord {
    const v = object(raw, path);
    if (typeof v.id !== 'string' || v.id === '' || Buffer.byteLength(v.id) > 512) throw new HttpError(400, `${path}.id must be a string of 1 to 512 bytes`);
    if (v.sparseValues !== undefined) throw new HttpError(400, 'sparse values are not supported by this dense index');
    const values = checkValues(v.values, `${path}.values`);
    if (v.metadata === undefined) return { id: v.id, values };
    return { id: v.id, values, metadata: checkMetadata(v.metadata, `${path}.metadata`) };
  }

  function checkValues(raw: unknown, path: string): number[] {
    if (!Array.isArray(raw)) throw new HttpError(400, `${path} must be an array of numbers`);
    if (raw.length !== dimension) throw new HttpError(400, `Vector dimension ${raw.length} does not match the dimension of the index ${dimension}`);
    if (!raw.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new HttpError(400, `${path} must hold finite numbers`);
    return raw as number[];
  }

  function checkMetadata(raw: unknown, path: string): Record<string, unknown> {
    const m = object(raw, path);
    for (const [key, value] of Object.entries(m)) {
      if (key.startsWith('$')) throw new HttpError(400, `${path}: metadata keys must not start with '$': ${key}`);
      const ok =
        typeof value === 'string' ||
        typeof value === 'boolean' ||
        (typeof value === 'number' && Number.isFinite(value)) ||
        (Array.isArray(value) && value.every((x) => typeof x === 'string'));
      if (!ok) throw new HttpError(400, `Metadata value must be a string, number, boolean or list of strings, got '${JSON.stringify(value)}' for field '${key}'`);
    }
    const size = Buffer.byteLength(JSON.stringify(m));
    if (size > MAX_METADATA_BYTES) throw new HttpError(400, `Metadata size is ${size} bytes, which exceeds the limit of ${MAX_METADATA_BYTES} bytes per vector`);
    return m;
  }

  function queryVectors(body: Record<string, unknown>): unknown {
    const topK = body.topK;
    if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) {
      throw new HttpError(400, `topK must be an integer from 1 to ${MAX_TOP_K}`);
    }
    if (body.queries !== undefined) throw new HttpError(400, 'the queries field is deprecated and not supported');
    if ((body.vector === undefined) === (body.id === undefined)) throw new HttpError(400, 'exactly one of vector or id must be provided');
    const ns = nsName(body.namespace);
    const records = store.get(ns) ?? new Map<string, FakeRecord>();
    let vector: readonly number[];
    if (body.vector !== undefined) {
      vector = checkValues(body.vector, 'vector');
    } else {
      const found = records.get(String(body.id));
      if (found === undefined) return { results: [], matches: [], namespace: ns === DEFAULT_NAMESPACE ? '' : ns, usage: { readUnits: 1 } };
      vector = found.values;
    }
    let filter: Filter | undefined;
    if (body.filter !== undefined) {
      checkFilter(body.filter, 'filter');
      filter = body.filter as Filter;
    }
    const scored: { record: FakeRecord; score: number }[] = [];
    for (const record of records.values()) {
      if (filter !== undefined && !matchesFilter(filter, record.metadata)) continue;
      scored.push({ record, score: score(vector, record.values) });
    }
    scored.sort((a, b) => b.score - a.score || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0));
    const matches = scored.slice(0, topK).map(({ record, score: s }) => ({
      id: record.id,
      score: s,
      values: body.includeValues === true ? record.values : [],
      ...(body.includeMetadata === true && record.metadata !== undefined && { metadata: record.metadata }),
    }));
    return { results: [], matches, namespace: ns === DEFAULT_NAMESPACE ? '' : ns, usage: { readUnits: 5 } };
  }

  function score(a: readonly number[], b: readonly number[]): number {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      dot += a[i]! * b[i]!;
      na += a[i]! * a[i]!;
      nb += b[i]! * b[i]!;
    }
    if (metric === 'dotproduct') return dot;
    if (metric === 'euclidean') return na + nb - 2 * dot;
    return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
  }

  /** Pinecone's filter language: what it rejects, rejected here with its constraints. */
  function checkFilter(raw: unknown, path: string): void {
    const f = object(raw, path);
    for (const [key, cond] of Object.entries(f)) {
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(cond) || cond.length === 0) throw new HttpError(400, `${path}.${key} must be a non-empty array`);
        cond.forEach((c: unknown, i: number) => checkFilter(c, `${path}.${key}[${i}]`));
        continue;
      }
      if (key.startsWith('$')) throw new HttpError(400, `${path}: unsupported operator ${key} at the top level`);
      if (typeof cond === 'string' || typeof cond === 'boolean' || typeof cond === 'number') continue;
      const ops = object(cond, `${path}.${key}`);
      if (Object.keys(ops).length === 0) throw new HttpError(400, `${path}.${key}: empty operator object`);
      for (const [op, value] of Object.entries(ops)) {
        switch (op) {
          case '$eq':
          case '$ne':
            if (!['string', 'number', 'boolean'].includes(typeof value)) throw new HttpError(400, `${path}.${key}.${op} must be a string, number or boolean`);
            break;
          case '$gt':
          case '$gte':
          case '$lt':
          case '$lte':
            if (typeof value !== 'number') throw new HttpError(400, `${path}.${key}.${op} must be a number`);
            break;
          case '$in':
          case '$nin':
            if (!Array.isArray(value) || !value.every((x) => typeof x === 'string' || typeof x === 'number')) {
              throw new HttpError(400, `${path}.${key}.${op} must be an array of strings or numbers`);
            }
            break;
          case '$exists':
            throw new HttpError(400, 'the fake Pinecone does not implement $exists');
          default:
            throw new HttpError(400, `${path}.${key}: unsupported operator ${op}`);
        }
      }
    }
  }

  function deleteVectors(body: Record<string, unknown>): unknown {
    const modes = [body.ids !== undefined, body.deleteAll === true, body.filter !== undefined].filter(Boolean).length;
    if (modes !== 1) throw new HttpError(400, 'exactly one of ids, deleteAll or filter must be provided');
    const ns = nsName(body.namespace);
    const records = store.get(ns);
    if (records === undefined) throw new HttpError(404, 'Namespace not found');
    if (body.deleteAll === true) {
      store.delete(ns);
    } else if (body.ids !== undefined) {
      const ids = body.ids;
      if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => typeof x === 'string')) throw new HttpError(400, 'ids must be a non-empty array of strings');
      if (ids.length > MAX_DELETE_IDS) throw new HttpError(400, `delete holds ${ids.length} ids; the maximum is ${MAX_DELETE_IDS}`);
      for (const id of ids) records.delete(id);
    } else {
      checkFilter(body.filter, 'filter');
      for (const [id, r] of records) if (matchesFilter(body.filter as Filter, r.metadata)) records.delete(id);
    }
    if (records.size === 0) store.delete(ns);
    return {};
  }

  function stats(): unknown {
    const namespaces: Record<string, { vectorCount: number }> = {};
    let total = 0;
    for (const [ns, records] of store) {
      namespaces[ns] = { vectorCount: records.size };
      total += records.size;
    }
    return { namespaces, dimension, indexFullness: 0, totalVectorCount: total, metric, vectorType: 'dense' };
  }

  function fetchVectors(query: Record<string, string[]>): unknown {
    const ids = query.ids ?? [];
    if (ids.length === 0) throw new HttpError(400, 'ids must be provided');
    const ns = nsName(query.namespace?.[0]);
    const records = store.get(ns);
    const vectors: Record<string, FakeRecord> = {};
    for (const id of ids) {
      const r = records?.get(id);
      if (r !== undefined) vectors[id] = r;
    }
    return { vectors, namespace: ns === DEFAULT_NAMESPACE ? '' : ns, usage: { readUnits: 1 } };
  }

  function update(body: Record<string, unknown>): unknown {
    if (typeof body.id !== 'string' || body.id === '') throw new HttpError(400, 'id must be a non-empty string (update by filter is not implemented by the fake)');
    const ns = nsName(body.namespace);
    const existing = store.get(ns)?.get(body.id);
    if (existing === undefined) return { matchedRecords: 0 };
    const values = body.values !== undefined ? checkValues(body.values, 'values') : existing.values;
    const setMetadata = body.setMetadata !== undefined ? checkMetadata(body.setMetadata, 'setMetadata') : undefined;
    const metadata = setMetadata !== undefined ? { ...existing.metadata, ...setMetadata } : existing.metadata;
    store.get(ns)!.set(body.id, { id: body.id, values, ...(metadata !== undefined && { metadata }) });
    return { matchedRecords: 1 };
  }

  function list(query: Record<string, string[]>): unknown {
    const ns = nsName(query.namespace?.[0]);
    const prefix = query.prefix?.[0] ?? '';
    const limit = Number(query.limit?.[0] ?? 100);
    const after = query.paginationToken?.[0];
    const ids = [...(store.get(ns)?.keys() ?? [])].filter((id) => id.startsWith(prefix) && (after === undefined || id > after)).sort();
    const page = ids.slice(0, limit);
    return {
      vectors: page.map((id) => ({ id })),
      ...(ids.length > limit && { pagination: { next: page[page.length - 1] } }),
      namespace: ns === DEFAULT_NAMESPACE ? '' : ns,
      usage: { readUnits: 1 },
    };
  }

  function object(raw: unknown, path = 'body'): Record<string, unknown> {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HttpError(400, `${path} must be a JSON object`);
    return raw as Record<string, unknown>;
  }

  const stalled = new Set<ServerResponse>();
  const delayed = new Set<NodeJS.Timeout>();

  function handler(kind: 'data' | 'control') {
    return (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const url = new URL(req.url ?? '/', 'http://fake');
        const query: Record<string, string[]> = {};
        for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
        let body: unknown;
        let parseError = false;
        if (raw.length > 0) {
          try {
            body = JSON.parse(raw.toString('utf8'));
          } catch {
            parseError = true;
            body = raw.toString('utf8');
          }
        }
        requests.push({ server: kind, method: req.method ?? 'GET', path: url.pathname, query, headers: req.headers, body });

        const delay = answerDelayMs;
        const send = (status: number, payload: unknown) => {
          const text = JSON.stringify(payload);
          const answer = () => {
            if (res.destroyed || res.writableEnded) return;
            res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
            res.end(text);
          };
          if (delay <= 0) return answer();
          const timer = setTimeout(() => {
            delayed.delete(timer);
            answer();
          }, delay);
          delayed.add(timer);
        };
        const sendError = (status: number, message: string) => {
          if (kind === 'data') send(status, { code: RPC_CODES[status] ?? 2, message, details: [] });
          else send(status, { error: { code: CONTROL_CODES[status] ?? 'UNKNOWN', message }, status });
        };

        if (stalls > 0) {
          stalls--;
          stalled.add(res);
          return;
        }
        const injected = failures.shift();
        if (injected !== undefined) {
          sendError(injected, injected >= 500 ? 'Injected failure: service unavailable' : `Injected failure ${injected}`);
          return;
        }
        if (req.headers['api-key'] !== apiKey) {
          sendError(401, 'Invalid API Key');
          return;
        }
        if (parseError) {
          sendError(400, 'request body is not valid JSON');
          return;
        }
        try {
          const out = kind === 'data' ? data(req.method ?? 'GET', url.pathname, query, body, raw.length) : control(req.method ?? 'GET', url.pathname);
          send(200, out);
        } catch (e) {
          if (e instanceof HttpError) sendError(e.status, e.message);
          else sendError(500, e instanceof Error ? e.message : String(e));
        }
      });
    };
  }

  const listen = async (server: Server): Promise<string> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const dataServer = createServer(handler('data'));
  const controlServer = createServer(handler('control'));
  dataUrl = await listen(dataServer);
  const controllerUrl = await listen(controlServer);

  const shut = (server: Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    url: dataUrl,
    controllerUrl,
    apiKey,
    dimension,
    indexName,
    requests,
    failNext(status: number, count = 1) {
      for (let i = 0; i < count; i++) failures.push(status);
    },
    stallNext(count = 1) {
      stalls += count;
    },
    delayAnswers(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`delayAnswers: ms must be a non-negative number, got ${ms}`);
      answerDelayMs = ms;
    },
    pendingAnswers() {
      return delayed.size;
    },
    namespaces() {
      return store;
    },
    async close() {
      for (const res of stalled) res.destroy();
      stalled.clear();
      for (const timer of delayed) clearTimeout(timer);
      delayed.clear();
      await Promise.all([shut(dataServer), shut(controlServer)]);
    },
  };
}
