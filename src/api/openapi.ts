/**
 * GET /openapi.json — built from the zod schemas that validate requests (`schemas.ts`) and
 * describe responses (`responses.ts`). Each operation's `operationId` is the name of the typed
 * client's method for it (`sextant/client`); a test holds the routes, this document and the
 * client to the same list.
 */
import { z } from 'zod';
import * as responses from './responses.ts';
import type { Schemas } from './schemas.ts';

type JsonSchema = Record<string, unknown>;
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Role = 'read' | 'write' | 'admin' | 'none';

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

interface Operation {
  readonly method: Method;
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly role: Role;
  readonly request?: z.ZodType;
  /** The body may be left out (it then means `{}`). */
  readonly optionalBody?: true;
  /** Absent for non-JSON responses (metrics, this document). */
  readonly response?: z.ZodType;
  readonly status?: number;
  readonly query?: readonly { name: string; description: string; type: 'string' | 'integer' }[];
}

function operations(s: Schemas): Operation[] {
  const r = responses;
  return [
    { method: 'get', path: '/healthz', operationId: 'health', summary: 'Liveness', role: 'none', response: r.health },
    { method: 'get', path: '/readyz', operationId: 'ready', summary: 'Readiness: model loaded, stores open, active device (503 while starting)', role: 'none', response: r.readiness },
    { method: 'get', path: '/metrics', operationId: 'metrics', summary: 'Prometheus metrics (text exposition format)', role: 'read' },
    { method: 'get', path: '/openapi.json', operationId: 'openapi', summary: 'This document', role: 'none' },
    { method: 'post', path: '/v1/embeddings', operationId: 'embed', summary: 'Embed texts (OpenAI-compatible: encoding_format float|base64, dimensions, user)', role: 'read', request: s.embeddingsRequest, response: r.embeddingsResponse },
    { method: 'get', path: '/v1/models', operationId: 'listModels', summary: 'Model versions (OpenAI list shape)', role: 'read', response: r.modelList },
    { method: 'post', path: '/v1/models/import', operationId: 'importModel', summary: 'Import a Hugging Face sentence-transformers ONNX folder on the server as a new version', role: 'admin', request: s.importModel, response: r.importedModel, status: 201 },
    { method: 'put', path: '/v1/models/aliases/{alias}', operationId: 'setAlias', summary: 'Move an alias to a version', role: 'admin', request: s.setAlias, response: r.alias },
    { method: 'get', path: '/v1/jobs', operationId: 'listJobs', summary: 'Jobs, newest first', role: 'read', response: r.jobList, query: [{ name: 'collection', description: 'Only this collection', type: 'string' }] },
    { method: 'get', path: '/v1/jobs/{id}', operationId: 'getJob', summary: 'A job with progress', role: 'read', response: r.job },
    { method: 'post', path: '/v1/jobs/{id}/cancel', operationId: 'cancelJob', summary: 'Cancel a queued or running job', role: 'admin', response: r.job },
    { method: 'get', path: '/v1/collections', operationId: 'listCollections', summary: 'List collections', role: 'read', response: r.collectionList },
    { method: 'post', path: '/v1/collections', operationId: 'createCollection', summary: 'Create a collection', role: 'write', request: s.createCollection, response: r.collection, status: 201 },
    { method: 'get', path: '/v1/collections/{name}', operationId: 'getCollection', summary: 'Describe a collection', role: 'read', response: r.collection },
    { method: 'patch', path: '/v1/collections/{name}', operationId: 'updateCollection', summary: 'Change target, hybrid_alpha, hnsw.efSearch or policy', role: 'admin', request: s.updateCollection, response: r.collection },
    { method: 'delete', path: '/v1/collections/{name}', operationId: 'deleteCollection', summary: 'Delete a collection, its documents and every index generation', role: 'admin', response: r.deletedCollection },
    { method: 'post', path: '/v1/collections/{name}/reembed', operationId: 'reembed', summary: "Start re-embedding into a new generation; default model: the collection's target", role: 'admin', request: s.reembed, optionalBody: true, response: r.job, status: 202 },
    { method: 'post', path: '/v1/collections/{name}/rollback', operationId: 'rollback', summary: 'Make the previous generation live again', role: 'admin', response: r.collection },
    { method: 'get', path: '/v1/collections/{name}/drift', operationId: 'getDrift', summary: 'Drift state, window metrics, history and policy decision', role: 'read', response: r.driftStatus, query: [{ name: 'history', description: 'History rows, 0 to 1000 (default 50)', type: 'integer' }] },
    { method: 'patch', path: '/v1/collections/{name}/drift', operationId: 'updateDriftSettings', summary: 'Change drift settings (partial; merged)', role: 'admin', request: s.driftSettings, response: r.driftConfig },
    { method: 'post', path: '/v1/collections/{name}/drift/reference', operationId: 'setDriftReference', summary: 'Set the reference query sample and/or re-sample the document reference', role: 'write', request: s.driftReference, response: r.driftReferences },
    { method: 'post', path: '/v1/collections/{name}/eval', operationId: 'evaluate', summary: 'Evaluate on a BEIR folder on the server', role: 'admin', request: s.eval, response: r.evalReport },
    { method: 'post', path: '/v1/collections/{name}/tune', operationId: 'tune', summary: 'Tune hybrid weight and efSearch on a BEIR folder', role: 'admin', request: s.tune, response: r.tuneResult },
    { method: 'get', path: '/v1/collections/{name}/eval-set', operationId: 'getEvalSet', summary: 'The registered evaluation set', role: 'read', response: r.evalSet },
    { method: 'put', path: '/v1/collections/{name}/eval-set', operationId: 'setEvalSet', summary: 'Register an evaluation set for the re-embedding gate', role: 'admin', request: s.evalSet, response: r.evalSet },
    { method: 'delete', path: '/v1/collections/{name}/eval-set', operationId: 'deleteEvalSet', summary: 'Remove the evaluation set', role: 'admin', response: r.evalSetDeleted },
    { method: 'post', path: '/v1/collections/{name}/documents', operationId: 'upsertDocuments', summary: 'Upsert documents (embed and index; atomic per request, idempotent by id)', role: 'write', request: s.upsertDocuments, response: r.upsertResult },
    { method: 'post', path: '/v1/collections/{name}/documents/delete', operationId: 'deleteDocuments', summary: 'Delete documents by ids or by metadata filter', role: 'write', request: s.deleteDocuments, response: r.deletedDocuments },
    { method: 'get', path: '/v1/collections/{name}/documents/{id}', operationId: 'getDocument', summary: 'Get a document', role: 'read', response: r.document },
    { method: 'delete', path: '/v1/collections/{name}/documents/{id}', operationId: 'deleteDocument', summary: 'Delete a document', role: 'write', response: r.deletedDocuments },
    { method: 'post', path: '/v1/collections/{name}/search', operationId: 'search', summary: 'Dense, keyword or hybrid search', role: 'read', request: s.search, response: r.searchResponse },
  ];
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

function describe(op: Operation): JsonSchema {
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

export function openApiDocument(schemas: Schemas, version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of operations(schemas)) (paths[op.path] ??= {})[op.method] = describe(op);
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
