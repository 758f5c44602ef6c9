/** Mapping of Pinecone SDK errors, with what the HTTP trace of the call saw, to Sextant's error classes. */
import { Errors } from '@pinecone-database/pinecone';
import { BackendAuthError, BackendNotFoundError, BackendUnavailableError, InvalidInputError, SextantError } from '../../errors.ts';

/**
 * What one SDK call saw on the wire (filled by the fetch in http.ts): the SDK's errors drop the
 * HTTP status in places (403 becomes PineconeBadRequestError, 404 loses Pinecone's message, 5xx
 * after retries loses the status), so errors are mapped with this.
 */
export interface CallTrace {
  /** HTTP attempts made (the SDK retries 5xx). */
  attempts: number;
  /** Status and (error) body of the last attempt. */
  status?: number;
  body?: string;
  /** The call ran past its deadline. */
  timedOut: boolean;
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

export function mapError(e: unknown, op: string, host: string, trace: CallTrace, timeoutMs: number): Error {
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
