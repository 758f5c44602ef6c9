/**
 * Request and response types of the typed client, derived from the zod schemas the server
 * validates requests with (src/api/schemas.ts) and describes responses with
 * (src/api/responses.ts). Type-only imports: the client carries none of the server's code.
 */
import type { z } from 'zod';
import type * as responses from '../api/responses.ts';
import type { Schemas } from '../api/schemas.ts';

type In<K extends keyof Schemas> = z.input<Schemas[K]>;
type Out<K extends keyof typeof responses> = z.output<(typeof responses)[K]>;

export type EmbeddingsRequest = In<'embeddingsRequest'>;
export type CreateCollectionRequest = In<'createCollection'>;
export type UpdateCollectionRequest = In<'updateCollection'>;
export type UpsertDocumentsRequest = In<'upsertDocuments'>;
export type DocumentInput = UpsertDocumentsRequest['documents'][number];
export type DeleteDocumentsRequest = In<'deleteDocuments'>;
export type SearchRequest = In<'search'>;
export type ExplainRequest = In<'explain'>;
export type AuditRequest = In<'audit'>;
export type ImportModelRequest = In<'importModel'>;
export type ReembedRequest = In<'reembed'>;
export type TrainRequest = In<'train'>;
export type DriftSettingsRequest = In<'driftSettings'>;
export type DriftReferenceRequest = In<'driftReference'>;
export type EvalRequest = In<'eval'>;
export type TuneRequest = In<'tune'>;
export type EvalSetRequest = In<'evalSet'>;
export type FeedbackRequest = In<'feedback'>;
export type BackupRequest = In<'backup'>;
export type FeedbackItemInput = FeedbackRequest['items'][number];

export type Health = Out<'health'>;
export type Readiness = Out<'readiness'>;
export type EmbeddingsResponse = Out<'embeddingsResponse'>;
export type ModelList = Out<'modelList'>;
export type ImportedModel = Out<'importedModel'>;
export type Alias = Out<'alias'>;
export type Job = Out<'job'>;
export type Backup = Out<'backup'>;
export type JobList = Out<'jobList'>;
export type Collection = Out<'collection'>;
export type CollectionList = Out<'collectionList'>;
export type DeletedCollection = Out<'deletedCollection'>;
export type UpsertResult = Out<'upsertResult'>;
export type DeletedDocuments = Out<'deletedDocuments'>;
export type Document = Out<'document'>;
export type DocumentListItem = Out<'documentListItem'>;
export type DocumentList = Out<'documentList'>;
export type Generation = Out<'generation'>;
export type GenerationList = Out<'generationList'>;
export type Whoami = Out<'whoami'>;
export type LastEvaluation = Out<'lastEvaluation'>;
export type SearchResponse = Out<'searchResponse'>;
export type ExplainResponse = Out<'explainResponse'>;
export type AuditReport = Out<'auditReport'>;
export type SearchHit = Out<'searchHit'>;
export type DriftStatus = Out<'driftStatus'>;
export type DriftReferences = Out<'driftReferences'>;
export type DriftConfig = Out<'driftConfig'>;
export type EvalReport = Out<'evalReport'>;
export type TuneResult = Out<'tuneResult'>;
export type EvalSet = Out<'evalSet'>;
export type EvalSetDeleted = Out<'evalSetDeleted'>;
export type FeedbackStored = Out<'feedbackStored'>;
export type FeedbackItem = Out<'feedbackItem'>;
export type FeedbackList = Out<'feedbackList'>;
export type FeedbackDeleted = Out<'feedbackDeleted'>;
export type Filter = NonNullable<SearchRequest['filter']>;
export type SearchMode = NonNullable<SearchRequest['mode']>;
