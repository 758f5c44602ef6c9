/** GET /openapi.json — built from the same zod schemas that validate requests. */
import { z } from 'zod';
import { evalSchemas } from './routes/eval.ts';
import type { Schemas } from './schemas.ts';

type JsonSchema = Record<string, unknown>;

function toSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
};

const collectionSchema: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    document_count: { type: 'integer' },
    model: { type: 'string', description: 'Concrete name@version of the live generation' },
    model_target: { type: 'string' },
    dimensions: { type: 'integer' },
    backend: { type: 'string', enum: ['hnsw', 'pinecone'] },
    generation: { type: 'integer' },
    hnsw: { type: 'object', properties: { M: { type: 'integer' }, efConstruction: { type: 'integer' }, efSearch: { type: 'integer' } } },
    hybrid_alpha: { type: 'number' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
};

const searchResponse: JsonSchema = {
  type: 'object',
  required: ['results', 'model', 'took_ms'],
  properties: {
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'score', 'metadata'],
        properties: {
          id: { type: 'string' },
          score: { type: 'number' },
          metadata: { type: 'object' },
          text: { type: 'string' },
          title: { type: ['string', 'null'] },
          explain: { type: 'object', description: 'dense and keyword rank/score that produced the hit' },
        },
      },
    },
    model: { type: 'string' },
    generation: { type: 'integer' },
    took_ms: { type: 'number' },
  },
};

const embeddingsResponse: JsonSchema = {
  type: 'object',
  properties: {
    object: { const: 'list' },
    data: {
      type: 'array',
      items: { type: 'object', properties: { object: { const: 'embedding' }, index: { type: 'integer' }, embedding: { type: 'array', items: { type: 'number' } } } },
    },
    model: { type: 'string' },
    usage: { type: 'object', properties: { prompt_tokens: { type: 'integer' }, total_tokens: { type: 'integer' } } },
  },
};

function json(schema: JsonSchema) {
  return { content: { 'application/json': { schema } } };
}

const errors = {
  '400': { description: 'Invalid input', ...json({ $ref: '#/components/schemas/Error' }) },
  '401': { description: 'Missing or invalid API key', ...json({ $ref: '#/components/schemas/Error' }) },
  '403': { description: 'API key role too weak', ...json({ $ref: '#/components/schemas/Error' }) },
  '404': { description: 'Not found', ...json({ $ref: '#/components/schemas/Error' }) },
  '413': { description: 'Body too large', ...json({ $ref: '#/components/schemas/Error' }) },
  '429': { description: 'Overloaded or rate-limited; see Retry-After', ...json({ $ref: '#/components/schemas/Error' }) },
};

function op(summary: string, response: JsonSchema, body?: JsonSchema, status = '200') {
  return {
    summary,
    ...(body ? { requestBody: { required: true, ...json(body) } } : {}),
    responses: { [status]: { description: 'OK', ...json(response) }, ...errors },
  };
}

const jobSchema: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { const: 'reembed' },
    collection: { type: 'string' },
    state: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
    model: { type: 'string' },
    generation: { type: ['integer', 'null'] },
    previous_generation: { type: ['integer', 'null'] },
    done: { type: 'integer' },
    total: { type: 'integer' },
    docs_per_s: { type: ['number', 'null'] },
    eta_seconds: { type: ['number', 'null'] },
    reason: { type: 'string' },
    error: { type: ['string', 'null'] },
    created_at: { type: 'string' },
    started_at: { type: ['string', 'null'] },
    finished_at: { type: ['string', 'null'] },
  },
};

const driftResponse: JsonSchema = {
  type: 'object',
  properties: {
    state: { type: 'string', enum: ['ok', 'warning', 'drifted'] },
    metrics: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, kind: { type: 'string' }, value: { type: 'number' }, threshold: { type: 'number' }, window: {} } },
    },
    history: { type: 'array', items: { type: 'object' } },
    policy: { type: 'object' },
  },
};

const anyObject: JsonSchema = { type: 'object' };

const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

export function openApiDocument(schemas: Schemas, version: string): JsonSchema {
  const collection = { $ref: '#/components/schemas/Collection' };
  return {
    openapi: '3.1.0',
    info: { title: 'Sextant', version, description: 'Semantic search: embeddings, collections, dense/keyword/hybrid search.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'SEXTANT_API_KEYS key; roles read < write < admin' } },
      schemas: { Error: errorSchema, Collection: collectionSchema, Job: jobSchema },
    },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'alive' } } } },
      '/readyz': { get: { summary: 'Readiness: model loaded, stores open, active device', security: [], responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain exposition format' } } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3 document' } } } },
      '/v1/embeddings': { post: op('Embed texts (OpenAI-compatible)', embeddingsResponse, toSchema(schemas.embeddingsRequest)) },
      '/v1/models': { get: op('Model versions (OpenAI list shape)', { type: 'object', properties: { object: { const: 'list' }, data: { type: 'array', items: { type: 'object' } } } }) },
      '/v1/models/import': {
        post: op('Import a Hugging Face sentence-transformers ONNX folder on the server as a new version (admin)', anyObject, {
          type: 'object',
          required: ['path', 'name'],
          properties: { path: { type: 'string' }, name: { type: 'string' }, version: { type: 'string' }, query_prefix: { type: 'string' }, document_prefix: { type: 'string' } },
        }, '201'),
      },
      '/v1/models/aliases/{alias}': {
        parameters: [{ name: 'alias', in: 'path', required: true, schema: { type: 'string' } }],
        put: op('Move an alias to a version (admin)', { type: 'object', properties: { alias: { type: 'string' }, target: { type: 'string' } } }, {
          type: 'object',
          required: ['target'],
          properties: { target: { type: 'string' } },
        }),
      },
      '/v1/jobs': { get: op('Re-embedding jobs, newest first (?collection=)', { type: 'object', properties: { jobs: { type: 'array', items: { $ref: '#/components/schemas/Job' } } } }) },
      '/v1/jobs/{id}': { parameters: [idParam], get: op('A job with progress', { $ref: '#/components/schemas/Job' }) },
      '/v1/jobs/{id}/cancel': { parameters: [idParam], post: op('Cancel a queued or running job (admin)', { $ref: '#/components/schemas/Job' }) },
      '/v1/collections': {
        get: op('List collections', { type: 'object', properties: { collections: { type: 'array', items: collection } } }),
        post: op('Create a collection', collection, toSchema(schemas.createCollection), '201'),
      },
      '/v1/collections/{name}': {
        parameters: [nameParam],
        get: op('Describe a collection', collection),
        patch: op('Change target, hybrid_alpha, hnsw.efSearch or policy (admin)', collection, toSchema(schemas.updateCollection)),
        delete: op('Delete a collection and its indexes', { type: 'object', properties: { deleted: { type: 'string' } } }),
      },
      '/v1/collections/{name}/reembed': {
        parameters: [nameParam],
        post: op('Start re-embedding into a new generation (admin); default model: the collection target', { $ref: '#/components/schemas/Job' }, {
          type: 'object',
          properties: { model: { type: 'string' } },
        }, '202'),
      },
      '/v1/collections/{name}/rollback': { parameters: [nameParam], post: op('Make the previous generation live again (admin)', collection) },
      '/v1/collections/{name}/drift': {
        parameters: [nameParam],
        get: op('Drift state, window metrics, history and policy decision', driftResponse),
        patch: op('Change drift settings (admin)', driftResponse, anyObject),
      },
      '/v1/collections/{name}/drift/reference': {
        parameters: [nameParam],
        post: op('Set the reference query sample (and/or re-sample documents)', driftResponse, {
          type: 'object',
          properties: { queries: { type: 'array', items: { type: 'string' } }, documents: { type: 'boolean' } },
        }),
      },
      '/v1/collections/{name}/eval': { parameters: [nameParam], post: op('Evaluate on a BEIR folder on the server (admin)', anyObject, toSchema(evalSchemas.eval)) },
      '/v1/collections/{name}/tune': { parameters: [nameParam], post: op('Tune hybrid weight and efSearch on a BEIR folder (admin)', anyObject, toSchema(evalSchemas.tune)) },
      '/v1/collections/{name}/eval-set': {
        parameters: [nameParam],
        get: op('The registered evaluation set', anyObject),
        put: op('Register an evaluation set for the re-embedding gate (admin)', anyObject, toSchema(evalSchemas.evalSet)),
        delete: op('Remove the evaluation set (admin)', anyObject),
      },
      '/v1/collections/{name}/documents': {
        parameters: [nameParam],
        post: op(
          'Upsert documents (embed and index; atomic per request, idempotent by id)',
          { type: 'object', properties: { upserted: { type: 'integer' }, unchanged: { type: 'integer' }, count: { type: 'integer' } } },
          toSchema(schemas.upsertDocuments),
        ),
      },
      '/v1/collections/{name}/documents/delete': {
        parameters: [nameParam],
        post: op('Delete documents by ids or by metadata filter', { type: 'object', properties: { deleted: { type: 'integer' }, ids: { type: 'array', items: { type: 'string' } } } }, toSchema(schemas.deleteDocuments)),
      },
      '/v1/collections/{name}/documents/{id}': {
        parameters: [nameParam, idParam],
        get: op('Get a document', { type: 'object', properties: { id: { type: 'string' }, text: { type: 'string' }, metadata: { type: 'object' } } }),
        delete: op('Delete a document', { type: 'object', properties: { deleted: { type: 'integer' } } }),
      },
      '/v1/collections/{name}/search': {
        parameters: [nameParam],
        post: op('Dense, keyword or hybrid search', searchResponse, toSchema(schemas.search)),
      },
    },
  };
}
