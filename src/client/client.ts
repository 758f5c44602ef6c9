/**
 * SextantClient: one method per API operation, named after its OpenAPI operationId. Request and
 * response types come from the server's zod schemas (types.ts); errors are one class per API
 * error code (errors.ts); retries, timeouts and aborts live in the transport.
 */
import { Transport, type CallOptions, type TransportOptions } from './transport.ts';
import type * as T from './types.ts';

export type SextantClientOptions = TransportOptions;
export type { CallOptions };

/** Method and path of each operation, by operationId (a test compares it with /openapi.json). */
export const ROUTES = {
  health: ['GET', '/healthz'],
  ready: ['GET', '/readyz'],
  metrics: ['GET', '/metrics'],
  openapi: ['GET', '/openapi.json'],
  whoami: ['GET', '/v1/whoami'],
  backup: ['POST', '/v1/admin/backup'],
  embed: ['POST', '/v1/embeddings'],
  listModels: ['GET', '/v1/models'],
  importModel: ['POST', '/v1/models/import'],
  setAlias: ['PUT', '/v1/models/aliases/{alias}'],
  listJobs: ['GET', '/v1/jobs'],
  getJob: ['GET', '/v1/jobs/{id}'],
  cancelJob: ['POST', '/v1/jobs/{id}/cancel'],
  listCollections: ['GET', '/v1/collections'],
  createCollection: ['POST', '/v1/collections'],
  getCollection: ['GET', '/v1/collections/{name}'],
  updateCollection: ['PATCH', '/v1/collections/{name}'],
  deleteCollection: ['DELETE', '/v1/collections/{name}'],
  reembed: ['POST', '/v1/collections/{name}/reembed'],
  train: ['POST', '/v1/collections/{name}/train'],
  listGenerations: ['GET', '/v1/collections/{name}/generations'],
  rollback: ['POST', '/v1/collections/{name}/rollback'],
  getDrift: ['GET', '/v1/collections/{name}/drift'],
  updateDriftSettings: ['PATCH', '/v1/collections/{name}/drift'],
  setDriftReference: ['POST', '/v1/collections/{name}/drift/reference'],
  evaluate: ['POST', '/v1/collections/{name}/eval'],
  lastEvaluation: ['GET', '/v1/collections/{name}/eval'],
  tune: ['POST', '/v1/collections/{name}/tune'],
  audit: ['POST', '/v1/collections/{name}/audit'],
  getEvalSet: ['GET', '/v1/collections/{name}/eval-set'],
  setEvalSet: ['PUT', '/v1/collections/{name}/eval-set'],
  deleteEvalSet: ['DELETE', '/v1/collections/{name}/eval-set'],
  addFeedback: ['POST', '/v1/collections/{name}/feedback'],
  listFeedback: ['GET', '/v1/collections/{name}/feedback'],
  deleteFeedback: ['DELETE', '/v1/collections/{name}/feedback'],
  listDocuments: ['GET', '/v1/collections/{name}/documents'],
  upsertDocuments: ['POST', '/v1/collections/{name}/documents'],
  deleteDocuments: ['POST', '/v1/collections/{name}/documents/delete'],
  getDocument: ['GET', '/v1/collections/{name}/documents/{id}'],
  deleteDocument: ['DELETE', '/v1/collections/{name}/documents/{id}'],
  search: ['POST', '/v1/collections/{name}/search'],
  explain: ['POST', '/v1/collections/{name}/explain'],
} as const satisfies Record<string, readonly ['GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', string]>;

export type OperationId = keyof typeof ROUTES;

interface Send {
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly accept?: readonly number[];
  readonly text?: boolean;
}

export class SextantClient {
  private readonly transport: Transport;

  constructor(options: SextantClientOptions) {
    this.transport = new Transport(options);
  }

  private send<R>(op: OperationId, call: CallOptions | undefined, s: Send = {}): Promise<R> {
    const [method, template] = ROUTES[op];
    const path = template.replace(/\{(\w+)\}/g, (_, key: string) => {
      const value = s.params?.[key];
      if (value === undefined || value === '') throw new TypeError(`SextantClient.${op}: '${key}' is required`);
      return encodeURIComponent(value);
    });
    return this.transport.send<R>({ method, path, query: s.query, body: s.body, accept: s.accept, text: s.text }, call);
  }

  // Service
  health(call?: CallOptions): Promise<T.Health> {
    return this.send('health', call);
  }
  /** Resolves while the server is still starting too (status 'starting'); check `status`. */
  ready(call?: CallOptions): Promise<T.Readiness> {
    return this.send('ready', call, { accept: [503] });
  }
  /** Prometheus text exposition. */
  metrics(call?: CallOptions): Promise<string> {
    return this.send('metrics', call, { text: true });
  }
  openapi(call?: CallOptions): Promise<Record<string, unknown>> {
    return this.send('openapi', call);
  }
  /** The principal and role of this client's API key ('anonymous', admin, when the server has no keys). */
  whoami(call?: CallOptions): Promise<T.Whoami> {
    return this.send('whoami', call);
  }

  // Embeddings and models
  embed(request: T.EmbeddingsRequest, call?: CallOptions): Promise<T.EmbeddingsResponse> {
    return this.send('embed', call, { body: request });
  }
  listModels(call?: CallOptions): Promise<T.ModelList> {
    return this.send('listModels', call);
  }
  importModel(request: T.ImportModelRequest, call?: CallOptions): Promise<T.ImportedModel> {
    return this.send('importModel', call, { body: request });
  }
  setAlias(alias: string, target: string, call?: CallOptions): Promise<T.Alias> {
    return this.send('setAlias', call, { params: { alias }, body: { target } });
  }

  // Jobs
  listJobs(filter: { collection?: string } = {}, call?: CallOptions): Promise<T.JobList> {
    return this.send('listJobs', call, { query: { collection: filter.collection } });
  }
  getJob(id: string, call?: CallOptions): Promise<T.Job> {
    return this.send('getJob', call, { params: { id } });
  }
  cancelJob(id: string, call?: CallOptions): Promise<T.Job> {
    return this.send('cancelJob', call, { params: { id } });
  }

  // Collections
  listCollections(call?: CallOptions): Promise<T.CollectionList> {
    return this.send('listCollections', call);
  }
  createCollection(request: T.CreateCollectionRequest, call?: CallOptions): Promise<T.Collection> {
    return this.send('createCollection', call, { body: request });
  }
  getCollection(name: string, call?: CallOptions): Promise<T.Collection> {
    return this.send('getCollection', call, { params: { name } });
  }
  updateCollection(name: string, request: T.UpdateCollectionRequest, call?: CallOptions): Promise<T.Collection> {
    return this.send('updateCollection', call, { params: { name }, body: request });
  }
  deleteCollection(name: string, call?: CallOptions): Promise<T.DeletedCollection> {
    return this.send('deleteCollection', call, { params: { name } });
  }

  // Lifecycle
  reembed(name: string, request: T.ReembedRequest = {}, call?: CallOptions): Promise<T.Job> {
    return this.send('reembed', call, { params: { name }, body: request });
  }

  /** Starts a training job (202); follow it with getJob. */
  train(name: string, request: T.TrainRequest = {}, call?: CallOptions): Promise<T.Job> {
    return this.send('train', call, { params: { name }, body: request });
  }
  /** A consistent copy of the server's data directory into `dir` on the server's machine (admin). */
  backup(request: T.BackupRequest, call?: CallOptions): Promise<T.Backup> {
    return this.send('backup', call, { body: request });
  }
  /** Index generations, newest first, with the live one and `rollback_to` (what rollback would make live). */
  listGenerations(name: string, call?: CallOptions): Promise<T.GenerationList> {
    return this.send('listGenerations', call, { params: { name } });
  }
  rollback(name: string, call?: CallOptions): Promise<T.Collection> {
    return this.send('rollback', call, { params: { name } });
  }
  getDrift(name: string, options: { history?: number } = {}, call?: CallOptions): Promise<T.DriftStatus> {
    return this.send('getDrift', call, { params: { name }, query: { history: options.history } });
  }
  updateDriftSettings(name: string, request: T.DriftSettingsRequest, call?: CallOptions): Promise<T.DriftConfig> {
    return this.send('updateDriftSettings', call, { params: { name }, body: request });
  }
  setDriftReference(name: string, request: T.DriftReferenceRequest, call?: CallOptions): Promise<T.DriftReferences> {
    return this.send('setDriftReference', call, { params: { name }, body: request });
  }
  evaluate(name: string, request: T.EvalRequest, call?: CallOptions): Promise<T.EvalReport> {
    return this.send('evaluate', call, { params: { name }, body: request });
  }
  /** What the last evaluate answered, with `evaluated_at`; `evaluation` is null when there was none. */
  lastEvaluation(name: string, call?: CallOptions): Promise<T.LastEvaluation> {
    return this.send('lastEvaluation', call, { params: { name } });
  }
  tune(name: string, request: T.TuneRequest, call?: CallOptions): Promise<T.TuneResult> {
    return this.send('tune', call, { params: { name }, body: request });
  }
  getEvalSet(name: string, call?: CallOptions): Promise<T.EvalSet> {
    return this.send('getEvalSet', call, { params: { name } });
  }
  setEvalSet(name: string, request: T.EvalSetRequest, call?: CallOptions): Promise<T.EvalSet> {
    return this.send('setEvalSet', call, { params: { name }, body: request });
  }
  deleteEvalSet(name: string, call?: CallOptions): Promise<T.EvalSetDeleted> {
    return this.send('deleteEvalSet', call, { params: { name } });
  }

  // Feedback for training
  /** Stores the items all or nothing; ids must be documents of the collection. */
  addFeedback(name: string, items: readonly T.FeedbackItemInput[], call?: CallOptions): Promise<T.FeedbackStored> {
    return this.send('addFeedback', call, { params: { name }, body: { items } });
  }
  /** One page, oldest first; pass the page's `next` as `after` for the following one (null: last page). */
  listFeedback(name: string, options: { limit?: number; after?: number } = {}, call?: CallOptions): Promise<T.FeedbackList> {
    return this.send('listFeedback', call, { params: { name }, query: { limit: options.limit, after: options.after } });
  }
  deleteFeedback(name: string, call?: CallOptions): Promise<T.FeedbackDeleted> {
    return this.send('deleteFeedback', call, { params: { name } });
  }

  // Documents and search
  upsertDocuments(name: string, documents: readonly T.DocumentInput[], call?: CallOptions): Promise<T.UpsertResult> {
    return this.send('upsertDocuments', call, { params: { name }, body: { documents } });
  }
  /** One page in id order; pass the page's `next` as `after` for the following one (null: last page). */
  listDocuments(name: string, options: { limit?: number; after?: string } = {}, call?: CallOptions): Promise<T.DocumentList> {
    return this.send('listDocuments', call, { params: { name }, query: { limit: options.limit, after: options.after } });
  }
  deleteDocuments(name: string, request: T.DeleteDocumentsRequest, call?: CallOptions): Promise<T.DeletedDocuments> {
    return this.send('deleteDocuments', call, { params: { name }, body: request });
  }
  getDocument(name: string, id: string, call?: CallOptions): Promise<T.Document> {
    return this.send('getDocument', call, { params: { name, id } });
  }
  deleteDocument(name: string, id: string, call?: CallOptions): Promise<T.DeletedDocuments> {
    return this.send('deleteDocument', call, { params: { name, id } });
  }
  search(name: string, request: T.SearchRequest, call?: CallOptions): Promise<T.SearchResponse> {
    return this.send('search', call, { params: { name }, body: request });
  }

  /** Fairness audit: each metadata group's share of the collection, of top-k exposure and of relevance. */
  audit(name: string, request: T.AuditRequest, call?: CallOptions): Promise<T.AuditReport> {
    return this.send('audit', call, { params: { name }, body: request });
  }

  /** Why one document scores what it does for a query (passages, query words, BM25 terms, fusion). */
  explain(name: string, request: T.ExplainRequest, call?: CallOptions): Promise<T.ExplainResponse> {
    return this.send('explain', call, { params: { name }, body: request });
  }
}
