/**
 * The one place error kinds become HTTP statuses. Every error body is
 * `{"error": {"code", "message", "details"?}}`.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { SextantError } from '../errors.ts';
import { log } from '../log.ts';

const STATUS_BY_CODE: Record<string, ContentfulStatusCode> = {
  invalid_input: 400,
  empty_text: 400,
  invalid_vector: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  model_not_found: 404,
  collection_not_found: 404,
  document_not_found: 404,
  job_not_found: 404,
  not_found: 404,
  collection_exists: 409,
  model_exists: 409,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  overloaded: 429,
  model_integrity: 500,
  model_load_failed: 500,
  invalid_config: 500,
  data_dir_locked: 500,
  backend_auth_failed: 502,
  backend_not_found: 502,
  backend_unavailable: 503,
  engine_closed: 503,
};

/** Every error code the API sends ('internal' for unexpected failures). */
export const API_ERROR_CODES: readonly string[] = [...Object.keys(STATUS_BY_CODE), 'internal'];

export function statusOf(code: string): ContentfulStatusCode {
  return STATUS_BY_CODE[code] ?? 500;
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** Turns zod issues into one readable line plus structured details. */
export function zodDetails(error: z.ZodError): { message: string; details: { path: string; message: string }[] } {
  const details = error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
  return { message: details.map((d) => `${d.path}: ${d.message}`).join('; '), details };
}

export function handleError(err: unknown, c: Context): Response {
  if (err instanceof SextantError) {
    const status = statusOf(err.code);
    const retryAfter = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (retryAfter !== undefined) c.header('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
    if (status >= 500) log.error('request failed', { code: err.code, err, path: c.req.path });
    return c.json(errorBody(err.code, err.message, err.details), status);
  }
  if (err instanceof z.ZodError) {
    const { message, details } = zodDetails(err);
    return c.json(errorBody('invalid_input', message, details), 400);
  }
  log.error('unexpected error', { err, path: c.req.path });
  return c.json(errorBody('internal', 'internal error; see the server log'), 500);
}
