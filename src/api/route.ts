/**
 * One definition per API operation: method, path, role, request and response schemas, and the
 * handler. The app mounts these definitions and /openapi.json is generated from the very same
 * list, so the document cannot drift from what is served. `operationId` is also the name of the
 * typed client's method (src/client).
 */
import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import { InvalidInputError } from '../errors.ts';
import { requireRole, type ApiKey, type Role } from './auth.ts';
import { readJson } from './body.ts';
import type { ApiEnv } from './env.ts';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface QueryParameter {
  readonly name: string;
  readonly description: string;
  readonly type: 'string' | 'integer';
}

interface RouteFields {
  readonly method: Method;
  /** OpenAPI path template: /v1/collections/{name} */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  /** 'none': no key needed (liveness, readiness, this document). */
  readonly role: Role | 'none';
  /** The JSON body may be left out; it then means `{}`. */
  readonly optionalBody?: true;
  /** Absent for non-JSON responses (metrics). */
  readonly response?: z.ZodType;
  /** Success status (default 200). */
  readonly status?: number;
  readonly query?: readonly QueryParameter[];
}

export interface Route extends RouteFields {
  readonly request?: z.ZodType;
  readonly handle: (c: Context<ApiEnv>, body: unknown) => Response | Promise<Response>;
}

/** An operation without a body. */
export function route(fields: RouteFields & { handle: (c: Context<ApiEnv>) => Response | Promise<Response> }): Route {
  return { ...fields, handle: (c) => fields.handle(c) };
}

/** An operation whose JSON body `request` validates; the handler gets the parsed body. */
export function routeWithBody<S extends z.ZodType>(
  fields: RouteFields & { request: S; handle: (c: Context<ApiEnv>, body: z.infer<S>) => Response | Promise<Response> },
): Route {
  return { ...fields, handle: (c, body) => fields.handle(c, body as z.infer<S>) };
}

const honoPath = (template: string): string => template.replace(/\{(\w+)\}/g, ':$1');

/** Registers each route with its role check and body validation. */
export function mountRoutes(app: Hono<ApiEnv>, routes: readonly Route[], keys: readonly ApiKey[]): void {
  for (const r of routes) {
    const handler = async (c: Context<ApiEnv>) => {
      const body = r.request ? await readJson(c, r.request, r.optionalBody ? { emptyAs: {} } : {}) : undefined;
      return r.handle(c, body);
    };
    if (r.role === 'none') app.on(r.method.toUpperCase(), honoPath(r.path), handler);
    else app.on(r.method.toUpperCase(), honoPath(r.path), requireRole(keys, r.role), handler);
  }
}

/** A path parameter of the matched route (its template names it, so it is always there). */
export function param(c: Context<ApiEnv>, name: string): string {
  const value = c.req.param(name);
  if (value === undefined) throw new Error(`route has no path parameter '${name}'`);
  return value;
}

/** An integer query parameter; absent → undefined, anything but digits → 400 naming it. */
export function integerParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new InvalidInputError(`${name} must be a non-negative integer, got '${value}'`);
  return Number(value);
}
