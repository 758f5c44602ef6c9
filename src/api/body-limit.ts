/**
 * Request body size limit. A declared Content-Length is checked from the header alone: touching
 * the body stream here would make @hono/node-server build a web Request and ReadableStream for
 * every request, and reading JSON through them cost ~40 us a request (its direct read of the
 * Node request is the fast path). Bodies without a length (chunked) are counted as they stream.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { PayloadTooLargeError } from '../errors.ts';

export function limitBodySize(maxBytes: number): MiddlewareHandler {
  const tooLarge = (): never => {
    throw new PayloadTooLargeError(`request body exceeds ${maxBytes} bytes (SEXTANT_MAX_BODY_BYTES)`);
  };
  const streaming = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streaming(c, next);
    if (!/^\d+$/.test(length.trim()) || Number(length) > maxBytes) tooLarge();
    return next();
  };
}
