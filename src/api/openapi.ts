/**
 * GET /openapi.json — generated from the route definitions the app mounts (src/api/route.ts):
 * their paths, roles, and the zod schemas that validate requests (`schemas.ts`) and describe
 * responses (`responses.ts`). Each `operationId` is the typed client's method for it.
 */
import { z } from 'zod';
import * as responses from './responses.ts';
import type { Route } from './route.ts';

type JsonSchema = Record<string, unknown>;

/** Drops `additionalProperties: false`, which zod writes for every output object: a response may gain fields. */
function allowExtraProperties(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(allowExtraProperties);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, v]) => !(key === 'additionalProperties' && v === false))
      .map(([key, v]) => [key, allowExtraProperties(v)]),
  );
}

function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return io === 'output' ? (allowExtraProperties(rest) as JsonSchema) : rest;
}

const errorRef = { $ref: '#/components/schemas/Error' };
const ERRORS: Record<string, string> = {
  '400': 'Invalid input',
  '401': 'Missing or invalid API key',
  '403': 'API key role too weak',
  '404': 'Not found',
  '409': 'Conflicts with the current state',
  '413': 'Body too large',
  '429': 'Overloaded or rate-limited; see Retry-After',
  '503': 'A backend is unavailable; retrying may help',
};

function json(schema: JsonSchema) {
  return { content: { 'application/json': { schema } } };
}

function pathParameters(path: string) {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1]!, in: 'path', required: true, schema: { type: 'string' } }));
}

function describe(op: Route): JsonSchema {
  const errors = Object.fromEntries(Object.entries(ERRORS).map(([status, description]) => [status, { description, ...json(errorRef) }]));
  return {
    operationId: op.operationId,
    summary: op.role === 'admin' || op.role === 'write' ? `${op.summary} (${op.role})` : op.summary,
    ...(op.role === 'none' ? { security: [] } : {}),
    ...(op.query || pathParameters(op.path).length
      ? { parameters: [...pathParameters(op.path), ...(op.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: { type: q.type } }))] }
      : {}),
    ...(op.request ? { requestBody: { required: !op.optionalBody, ...json(toSchema(op.request, 'input')) } } : {}),
    responses: {
      [String(op.status ?? 200)]: { description: 'OK', ...(op.response ? json(toSchema(op.response, 'output')) : {}) },
      ...(op.role === 'none' ? {} : errors),
    },
  };
}

export function openApiDocument(routes: readonly Route[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of routes) (paths[op.path] ??= {})[op.method] = describe(op);
  return {
    openapi: '3.1.0',
    info: { title: 'Sextant', version, description: 'Semantic search: embeddings, collections, dense/keyword/hybrid search, model lifecycle.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'SEXTANT_API_KEYS key; roles read < write < admin' } },
      schemas: { Error: toSchema(responses.errorResponse, 'output') },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
