/**
 * HTTP for the typed client: JSON in and out, bearer auth, a timeout per attempt, the caller's
 * AbortSignal, and retries with backoff on 429 (honouring Retry-After) and 503.
 */
import { AbortedApiError, apiError, ConnectionApiError, TimeoutApiError, type SextantApiError } from './errors.ts';

export interface TransportOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Per attempt; 0 waits forever (default 30 s). */
  readonly timeoutMs?: number;
  /** Extra attempts after a 429 or 503 (default 3). */
  readonly retries?: number;
  /** First backoff delay when the server gives no Retry-After (default 250 ms, doubling, with jitter). */
  readonly retryBaseMs?: number;
  /** Longest wait between attempts, Retry-After included (default 30 s). */
  readonly maxRetryDelayMs?: number;
  /** A fetch implementation (default: the global one). */
  readonly fetch?: typeof fetch;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Overrides the client's timeoutMs for this call (0: none), e.g. for a long evaluation. */
  readonly timeoutMs?: number;
}

export interface Request {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  /** Statuses besides 2xx whose body is a result, not an error (e.g. /readyz answers 503 while starting). */
  readonly accept?: readonly number[];
  /** Return the body as text instead of parsing JSON. */
  readonly text?: boolean;
}

const RETRYABLE = new Set([429, 503]);

interface Answer {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly text: string;
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class Transport {
  private readonly base: URL;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: TransportOptions) {
    try {
      this.base = new URL(options.url);
    } catch {
      throw new TypeError(`SextantClient: url '${options.url}' is not a valid URL`);
    }
    for (const key of ['timeoutMs', 'retries', 'retryBaseMs', 'maxRetryDelayMs'] as const) {
      const value = options[key];
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        throw new TypeError(`SextantClient: ${key} must be a number >= 0, got ${String(value)}`);
      }
    }
    if (options.retries !== undefined && !Number.isInteger(options.retries)) throw new TypeError(`SextantClient: retries must be a whole number, got ${options.retries}`);
    this.fetchImpl = options.fetch ?? fetch;
  }

  async send<T>(req: Request, call: CallOptions = {}): Promise<T> {
    const retries = this.options.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      const res = await this.attempt(req, call);
      if (res.ok || req.accept?.includes(res.status)) {
        if (req.text) return res.text as T;
        return (res.text === '' ? undefined : JSON.parse(res.text)) as T;
      }
      const error = this.errorOf(req, res);
      if (!RETRYABLE.has(res.status) || attempt >= retries) throw error;
      await sleep(this.delayMs(attempt, res.headers.get('retry-after')), call.signal).catch(() => {
        throw new AbortedApiError(`${req.method} ${req.path}: aborted while waiting to retry`);
      });
    }
  }

  private delayMs(attempt: number, retryAfter: string | null): number {
    const max = this.options.maxRetryDelayMs ?? 30_000;
    const given = retryAfterMs(retryAfter);
    if (given !== undefined) return Math.min(given, max);
    const base = (this.options.retryBaseMs ?? 250) * 2 ** attempt;
    // Jitter keeps many clients that were refused together from returning together.
    return Math.min(base / 2 + Math.random() * (base / 2), max);
  }

  /** One request, its body read in full (a timeout covers both). */
  private async attempt(req: Request, call: CallOptions): Promise<Answer> {
    const url = new URL(req.path, this.base);
    for (const [key, value] of Object.entries(req.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    if (call.timeoutMs !== undefined && !(Number.isFinite(call.timeoutMs) && call.timeoutMs >= 0)) {
      throw new TypeError(`SextantClient: timeoutMs must be a number >= 0, got ${String(call.timeoutMs)}`);
    }
    const timeoutMs = call.timeoutMs ?? this.options.timeoutMs ?? 30_000;
    const signals = [...(call.signal ? [call.signal] : []), ...(timeoutMs > 0 ? [AbortSignal.timeout(timeoutMs)] : [])];
    const headers: Record<string, string> = { accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    try {
      const res = await this.fetchImpl(url, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: signals.length === 0 ? undefined : AbortSignal.any(signals),
      });
      return { ok: res.ok, status: res.status, statusText: res.statusText, headers: res.headers, text: await res.text() };
    } catch (err) {
      if (call.signal?.aborted) throw new AbortedApiError(`${req.method} ${req.path}: aborted`);
      if (err instanceof Error && err.name === 'TimeoutError') throw new TimeoutApiError(`${req.method} ${req.path}: no answer within ${timeoutMs} ms`);
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : (err as Error).message;
      throw new ConnectionApiError(`cannot reach ${this.base.origin}: ${cause}`);
    }
  }

  private errorOf(req: Request, res: Answer): SextantApiError {
    const text = res.text;
    let body: { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    const code = typeof body?.error?.code === 'string' ? body.error.code : `http_${res.status}`;
    const message = typeof body?.error?.message === 'string' ? body.error.message : text.slice(0, 200) || res.statusText;
    const details = body?.error?.details;
    return apiError(res.status, code, `${req.method} ${req.path}: ${res.status} ${message}`, details && typeof details === 'object' ? (details as Record<string, unknown>) : undefined);
  }
}
